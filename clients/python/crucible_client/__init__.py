"""Python client of Crucible, the neural-network audit service.

    from crucible_client import Client

    client = Client("127.0.0.1:50051")
    model = client.upload_model("model.onnx")
    data = client.upload_dataset(x_test, y_test)
    job = client.submit("evaluate", model, data, config={"preprocess": {"scale": 1 / 255}})
    print(job.wait().report_dict()["accuracy"])

Messages are the generated crucible.v1 modules in crucible_client.proto
(engines_pb2, jobs_pb2, resources_pb2, gate_pb2).
"""

from crucible_client.client import Client, engine_names
from crucible_client.errors import CrucibleError, JobFailedError, JobTimeoutError
from crucible_client.job import Job

__all__ = ["Client", "CrucibleError", "Job", "JobFailedError", "JobTimeoutError", "engine_names"]
