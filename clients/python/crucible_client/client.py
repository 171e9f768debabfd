"""Client: a connection to a Crucible server (crucible.v1.AuditorService).

    from crucible_client import Client

    with Client("127.0.0.1:50051") as client:
        model = client.upload_model("lenet.onnx")                # path or bytes
        data = client.upload_dataset(x_test, y_test)             # arrays or NPY/IDX paths
        job = client.submit("pgd", model, data, config={"epsilon": 0.03, "steps": 40})
        job.wait()
        print(job.report_dict()["robust_accuracy"])

Models are content-addressed: upload_model() skips the upload when the server
already has the sha256. Configs are dicts in the protobuf JSON mapping of the
engine's config message (the same JSON as ``crucible run --config``) or the
message itself. Unary calls have a deadline (``timeout``, default 30 s);
uploads, watches and downloads have none. Errors raise CrucibleError with the
gRPC status code and message.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any, Callable, Iterator, List, Mapping, Optional, TypeVar, Union

import grpc
import numpy as np
from google.protobuf import json_format
from google.protobuf.message import Message

from crucible_client._convert import array_to_npy
from crucible_client.errors import CrucibleError
from crucible_client.job import Job
from crucible_client.proto import jobs_pb2, resources_pb2, service_pb2_grpc

DEFAULT_ADDRESS = "127.0.0.1:50051"
UPLOAD_CHUNK_BYTES = 1 << 20
MAX_MESSAGE_BYTES = 64 << 20

PathLike = Union[str, "os.PathLike[str]"]
ArrayOrPath = Union[np.ndarray, PathLike]
ModelRef = Union[resources_pb2.Model, str]
DatasetRef = Union[resources_pb2.Dataset, str]
Config = Union[Mapping[str, Any], Message]

T = TypeVar("T")


def engine_names() -> List[str]:
    """The engines a job can run (the JobSpec ``config`` oneof), in API order."""
    return [field.name for field in jobs_pb2.JobSpec.DESCRIPTOR.oneofs_by_name["config"].fields]


def _data_bytes(value: Union[ArrayOrPath, bytes], what: str) -> bytes:
    if isinstance(value, np.ndarray):
        return array_to_npy(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, (str, os.PathLike)):
        return Path(value).read_bytes()
    raise TypeError(f"{what} must be a numpy array, bytes or a path, not {type(value).__name__}")


def _chunks(data: bytes) -> Iterator[bytes]:
    for start in range(0, len(data), UPLOAD_CHUNK_BYTES):
        yield data[start:start + UPLOAD_CHUNK_BYTES]


class Client:
    def __init__(self, address: str = DEFAULT_ADDRESS, *, timeout: float = 30.0,
                 channel: Optional[grpc.Channel] = None) -> None:
        """An insecure channel to ``address`` (HOST:PORT), or ``channel`` when
        given. Does not connect: the first call does."""
        self.address = address
        self.timeout = timeout
        self._channel = channel or grpc.insecure_channel(
            address, options=[("grpc.max_receive_message_length", MAX_MESSAGE_BYTES)])
        self._stub = service_pb2_grpc.AuditorServiceStub(self._channel)

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _call(self, method: Callable[..., T], request: Message, **kwargs: Any) -> T:
        """A unary call with the client's deadline; gRPC errors become CrucibleError."""
        kwargs.setdefault("timeout", self.timeout)
        try:
            return method(request, **kwargs)
        except grpc.RpcError as error:
            raise CrucibleError.from_rpc_error(error) from None

    # ---- models --------------------------------------------------------------

    def upload_model(self, model: Union[PathLike, bytes], name: Optional[str] = None) -> resources_pb2.Model:
        """Uploads an ONNX model (a path or its bytes) unless the server already
        has it; returns the stored Model (id = sha256 of the bytes). ``name``
        defaults to the file's name ("model.onnx" for bytes)."""
        if isinstance(model, (bytes, bytearray, memoryview)):
            data, default_name = bytes(model), "model.onnx"
        else:
            data, default_name = Path(model).read_bytes(), Path(model).name
        digest = hashlib.sha256(data).hexdigest()
        try:
            return self.get_model(digest)
        except CrucibleError as error:
            if error.code != grpc.StatusCode.NOT_FOUND:
                raise
        header = resources_pb2.UploadModelHeader(name=name or default_name, size_bytes=len(data), sha256=digest)

        def requests() -> Iterator[resources_pb2.UploadModelRequest]:
            yield resources_pb2.UploadModelRequest(header=header)
            for chunk in _chunks(data):
                yield resources_pb2.UploadModelRequest(chunk=chunk)

        return self._call(self._stub.UploadModel, requests(), timeout=None)

    def get_model(self, model_id: str) -> resources_pb2.Model:
        return self._call(self._stub.GetModel, resources_pb2.GetModelRequest(id=model_id))

    def list_models(self, page_size: int = 0) -> Iterator[resources_pb2.Model]:
        """Every model, fetched page by page."""
        token = ""
        while True:
            response = self._call(self._stub.ListModels,
                                  resources_pb2.ListModelsRequest(page_size=page_size, page_token=token))
            yield from response.models
            token = response.next_page_token
            if not token:
                return

    def delete_model(self, model: ModelRef) -> None:
        self._call(self._stub.DeleteModel, resources_pb2.DeleteModelRequest(id=_model_id(model)))

    # ---- datasets ------------------------------------------------------------

    def upload_dataset(self, inputs: Union[ArrayOrPath, bytes], labels: Optional[Union[ArrayOrPath, bytes]] = None,
                       name: Optional[str] = None) -> resources_pb2.Dataset:
        """Uploads inputs (a numpy array, NPY/IDX bytes or a path) and optional
        integer labels as one dataset. Arrays are sent as NPY files; a float64
        array is sent as float64 (the server converts it)."""
        inputs_bytes = _data_bytes(inputs, "inputs")
        labels_bytes = _data_bytes(labels, "labels") if labels is not None else b""
        if name is None:
            name = Path(inputs).name if isinstance(inputs, (str, os.PathLike)) else "dataset.npy"
        header = resources_pb2.UploadDatasetHeader(
            name=name, inputs_size_bytes=len(inputs_bytes), inputs_sha256=hashlib.sha256(inputs_bytes).hexdigest(),
            labels_size_bytes=len(labels_bytes),
            labels_sha256=hashlib.sha256(labels_bytes).hexdigest() if labels_bytes else "")

        def requests() -> Iterator[resources_pb2.UploadDatasetRequest]:
            yield resources_pb2.UploadDatasetRequest(header=header)
            for chunk in _chunks(inputs_bytes):
                yield resources_pb2.UploadDatasetRequest(inputs_chunk=chunk)
            for chunk in _chunks(labels_bytes):
                yield resources_pb2.UploadDatasetRequest(labels_chunk=chunk)

        return self._call(self._stub.UploadDataset, requests(), timeout=None)

    def get_dataset(self, dataset_id: str) -> resources_pb2.Dataset:
        return self._call(self._stub.GetDataset, resources_pb2.GetDatasetRequest(id=dataset_id))

    # ---- jobs ----------------------------------------------------------------

    def submit(self, engine: str, model: ModelRef, dataset: Optional[DatasetRef] = None,
               config: Optional[Config] = None, request_id: str = "") -> Job:
        """Submits an audit job and returns it (QUEUED). ``config`` is the
        engine's config as a dict in the protobuf JSON mapping or as the
        message (e.g. engines_pb2.PgdConfig). A retried submit with the same
        ``request_id`` returns the first job. Raises ValueError for an unknown
        engine or a config that is not the engine's, CrucibleError for what
        the server rejects (INVALID_ARGUMENT naming the field)."""
        request = jobs_pb2.SubmitJobRequest(request_id=request_id)
        spec = request.spec
        if engine not in engine_names():
            raise ValueError(f"unknown engine {engine!r} (engines: {', '.join(engine_names())})")
        target = getattr(spec, engine)
        target.SetInParent()
        if isinstance(config, Message):
            if config.DESCRIPTOR is not target.DESCRIPTOR:
                raise ValueError(f"engine {engine} takes a {target.DESCRIPTOR.name}, "
                                 f"not a {config.DESCRIPTOR.name}")
            target.CopyFrom(config)
        elif config is not None:
            try:
                json_format.ParseDict(dict(config), target)
            except json_format.ParseError as error:
                raise ValueError(f"config is not a valid {target.DESCRIPTOR.full_name}: {error}") from None
        spec.model_id = _model_id(model)
        if dataset is not None:
            spec.dataset_id = dataset if isinstance(dataset, str) else dataset.id
        return Job(self, self._call(self._stub.SubmitJob, request))

    def get_job(self, job_id: str) -> Job:
        return Job(self, self._call(self._stub.GetJob, jobs_pb2.GetJobRequest(id=job_id)))

    def list_jobs(self, state: Optional[str] = None, engine: str = "", model: Optional[ModelRef] = None,
                  page_size: int = 0) -> Iterator[Job]:
        """Every job matching the filters (state by name, e.g. "SUCCEEDED"), page by page."""
        request = jobs_pb2.ListJobsRequest(page_size=page_size, engine=engine,
                                           model_id=_model_id(model) if model is not None else "")
        if state is not None:
            request.state = jobs_pb2.JobState.Value(state)
        while True:
            response = self._call(self._stub.ListJobs, request)
            for job in response.jobs:
                yield Job(self, job)
            request.page_token = response.next_page_token
            if not request.page_token:
                return


def _model_id(model: ModelRef) -> str:
    return model if isinstance(model, str) else model.id
