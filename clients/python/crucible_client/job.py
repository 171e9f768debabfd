"""Job: one audit job on a Crucible server, as returned by Client.submit().

    job = client.submit("fgsm", model, dataset, config={"epsilon": 0.1})
    job.wait(timeout=600, on_progress=lambda j: print(j.progress.fraction))
    print(job.report_dict()["robust_accuracy"])
    adversarial = job.artifact_array("adversarial_examples.npy")

A Job holds the last state fetched from the server (``job.proto``, a
crucible.v1.Job); refresh() and wait() update it. Not thread-safe.
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Union

import grpc
import numpy.typing as npt

from crucible_client._convert import message_to_dict, npy_to_array
from crucible_client.errors import CrucibleError, JobFailedError, JobTimeoutError
from crucible_client.proto import jobs_pb2

if TYPE_CHECKING:
    from crucible_client.client import Client

TERMINAL_STATES = frozenset({"SUCCEEDED", "FAILED", "CANCELLED"})


class Job:
    def __init__(self, client: "Client", proto: jobs_pb2.Job) -> None:
        self._client = client
        self.proto = proto

    def __repr__(self) -> str:
        return f"Job(id={self.id!r}, engine={self.engine!r}, state={self.state!r})"

    @property
    def id(self) -> str:
        return self.proto.id

    @property
    def engine(self) -> str:
        return self.proto.engine

    @property
    def state(self) -> str:
        """QUEUED, RUNNING, SUCCEEDED, FAILED or CANCELLED."""
        return jobs_pb2.JobState.Name(self.proto.state)

    @property
    def progress(self) -> jobs_pb2.Progress:
        """fraction (0..1), stage and message, as last fetched."""
        return self.proto.progress

    @property
    def error(self) -> str:
        """Why the job FAILED (empty otherwise)."""
        return self.proto.error

    @property
    def done(self) -> bool:
        return self.state in TERMINAL_STATES

    def refresh(self) -> "Job":
        """Fetches the job's current state (with report and artifacts once ended)."""
        self.proto = self._client._call(self._client._stub.GetJob, jobs_pb2.GetJobRequest(id=self.id))
        return self

    def wait(self, timeout: Optional[float] = None,
             on_progress: Optional[Callable[["Job"], None]] = None) -> "Job":
        """Waits until the job ends and returns it (refreshed, with its report).

        on_progress is called with this Job each time the server reports a
        change of state or progress. Raises JobTimeoutError after ``timeout``
        seconds (None: no limit), JobFailedError when the job ended FAILED or
        CANCELLED, CrucibleError when the server cannot be reached.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self.done:
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                raise JobTimeoutError(self.id, timeout or 0.0)
            try:
                for update in self._client._stub.WatchJob(jobs_pb2.WatchJobRequest(id=self.id),
                                                          timeout=remaining):
                    self.proto = update
                    if on_progress is not None:
                        on_progress(self)
            except grpc.RpcError as error:
                if error.code() == grpc.StatusCode.DEADLINE_EXCEEDED:
                    raise JobTimeoutError(self.id, timeout or 0.0) from None
                raise CrucibleError.from_rpc_error(error) from None
            if not self.done:
                # The stream ended early (a server restart): look again.
                self.refresh()
        self.refresh()
        if self.state != "SUCCEEDED":
            raise JobFailedError(self)
        return self

    def cancel(self) -> "Job":
        """Asks the server to cancel the job; returns it with the state the server answered."""
        self.proto = self._client._call(self._client._stub.CancelJob, jobs_pb2.CancelJobRequest(id=self.id))
        return self

    @property
    def report(self) -> jobs_pb2.Report:
        """The report (crucible.v1.Report; one of its fields is set, see
        report_kind). Raises JobFailedError for a job that FAILED or was
        CANCELLED, CrucibleError FAILED_PRECONDITION while it runs."""
        if self.proto.HasField("report"):
            return self.proto.report
        if self.state in ("FAILED", "CANCELLED"):
            raise JobFailedError(self)
        return self._client._call(self._client._stub.GetReport, jobs_pb2.GetReportRequest(job_id=self.id))

    @property
    def report_kind(self) -> str:
        """Which report the job produced: evaluation, attack, fooling, verification, ..."""
        return self.report.WhichOneof("report") or ""

    def report_dict(self) -> Dict[str, Any]:
        """The engine's report as a plain dict with the field names of DESIGN.md
        (``accuracy``, ``robust_accuracy``, ``flagged_classes``, ...): enums by
        name, numbers as Python numbers, empty lists and zeros present."""
        report = self.report
        kind = report.WhichOneof("report")
        if kind is None:
            return {}
        return message_to_dict(getattr(report, kind))

    def artifacts(self) -> List[jobs_pb2.Artifact]:
        """The job's artifacts (name, media_type, size_bytes, sha256)."""
        if self.done and not self.proto.artifacts:
            self.refresh()
        return list(self.proto.artifacts)

    def download_artifact(self, name: str) -> bytes:
        """The bytes of artifact ``name``."""
        request = jobs_pb2.DownloadArtifactRequest(job_id=self.id, name=name)
        try:
            return b"".join(chunk.data for chunk in self._client._stub.DownloadArtifact(request))
        except grpc.RpcError as error:
            raise CrucibleError.from_rpc_error(error) from None

    def artifact_array(self, name: str) -> "npt.NDArray[Any]":
        """Artifact ``name`` (an NPY file, such as predictions.npy) as an array."""
        return npy_to_array(self.download_artifact(name))

    def save_artifact(self, name: str, path: Union[str, "os.PathLike[str]"]) -> None:
        with open(path, "wb") as out:
            out.write(self.download_artifact(name))
