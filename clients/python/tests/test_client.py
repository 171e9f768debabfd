"""crucible_client against a live crucible-server (see conftest.py).

Truths the results are compared with: sha256 computed here (model ids), the
PyTorch accuracy of the fixture model (tests/fixtures/golden/accuracy.json),
the predictions artifact re-scored against the labels here, and the
perturbation bound re-measured on the downloaded adversarial examples.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import grpc
import numpy as np
import pytest

from crucible_client import Client, CrucibleError, JobFailedError, JobTimeoutError, engine_names
from crucible_client.proto import engines_pb2

PIXELS = {"scale": 1 / 255}  # The fixture images are uint8; the models take [0, 1].


def test_upload_model_from_path_and_bytes_is_one_content_addressed_model(client: Client, fixtures: Path) -> None:
    path = fixtures / "models" / "fmnist_mlp.onnx"
    from_path = client.upload_model(path)
    assert from_path.id == hashlib.sha256(path.read_bytes()).hexdigest()
    assert from_path.name == "fmnist_mlp.onnx"
    assert list(from_path.input_shape) == [1, 28, 28]
    assert from_path.num_classes == 10
    from_bytes = client.upload_model(path.read_bytes(), name="other name")
    assert from_bytes.id == from_path.id
    assert from_bytes.name == "fmnist_mlp.onnx"  # Already stored: not uploaded again.
    assert from_path.id in [m.id for m in client.list_models()]


def test_upload_dataset_from_arrays_and_from_paths(client: Client, fixtures: Path, images: np.ndarray,
                                                   labels: np.ndarray) -> None:
    from_arrays = client.upload_dataset(images[:100], labels[:100])
    assert from_arrays.num_examples == 100
    assert list(from_arrays.example_shape) == [1, 28, 28]
    assert from_arrays.dtype == "uint8"
    assert from_arrays.has_labels

    inputs_path = fixtures / "data" / "fmnist_test_1000_images.npy"
    from_paths = client.upload_dataset(inputs_path, fixtures / "data" / "fmnist_test_1000_labels.npy")
    assert from_paths.num_examples == 1000
    assert from_paths.name == inputs_path.name
    assert from_paths.inputs_sha256 == hashlib.sha256(inputs_path.read_bytes()).hexdigest()

    floats = client.upload_dataset(images[:10].astype(np.float32) / 255)
    assert floats.dtype == "float32"
    assert not floats.has_labels
    assert client.get_dataset(floats.id).num_examples == 10


def test_evaluate_matches_the_pytorch_accuracy_and_its_own_predictions(client: Client, fixtures: Path,
                                                                       images: np.ndarray,
                                                                       labels: np.ndarray) -> None:
    model = client.upload_model(fixtures / "models" / "fmnist_lenet.onnx")
    dataset = client.upload_dataset(images, labels)
    fractions = []
    job = client.submit("evaluate", model, dataset, config={"preprocess": PIXELS})
    assert job.engine == "evaluate"
    job.wait(timeout=120, on_progress=lambda j: fractions.append(j.progress.fraction))
    assert job.state == "SUCCEEDED"
    assert fractions and fractions == sorted(fractions) and fractions[-1] == pytest.approx(1.0)

    golden = json.loads((fixtures / "golden" / "accuracy.json").read_text())["fmnist_lenet"]
    report = job.report_dict()
    assert job.report_kind == "evaluation"
    assert report["accuracy"] == pytest.approx(golden["accuracy"])
    assert report["num_correct"] == golden["correct"]  # An int, not the JSON mapping's string.
    assert job.report.evaluation.num_examples == 1000

    assert "predictions.npy" in [a.name for a in job.artifacts()]
    predictions = job.artifact_array("predictions.npy")
    assert predictions.shape == (1000,)
    assert np.mean(predictions == labels) == pytest.approx(report["accuracy"])
    confusion = np.zeros((10, 10), dtype=np.int64)
    np.add.at(confusion, (labels, predictions), 1)
    assert [row["counts"] for row in report["confusion_matrix"]["rows"]] == confusion.tolist()


def test_fgsm_report_and_adversarial_examples_within_epsilon(client: Client, fixtures: Path, images: np.ndarray,
                                                             labels: np.ndarray, tmp_path: Path) -> None:
    model = client.upload_model(fixtures / "models" / "fmnist_mlp.onnx")
    dataset = client.upload_dataset(images[:200], labels[:200])
    config = engines_pb2.FgsmConfig(epsilon=0.1, preprocess=engines_pb2.Preprocess(scale=1 / 255))
    job = client.submit("fgsm", model.id, dataset.id, config=config).wait(timeout=120)
    report = job.report_dict()
    assert job.report_kind == "attack"
    assert 0 <= report["robust_accuracy"] < report["clean_accuracy"] <= 1
    assert report["warnings"] == [] or all(isinstance(w, str) for w in report["warnings"])
    assert len(report["examples"]) > 0
    assert set(report["examples"][0]) >= {"index", "label", "clean_prediction", "adversarial_prediction", "success"}

    adversarial = job.artifact_array("adversarial_examples.npy")
    assert adversarial.shape == (200, 1, 28, 28)
    clean = images[:200].astype(np.float32) / 255
    assert np.max(np.abs(adversarial - clean)) <= 0.1 + 1e-5
    assert adversarial.min() >= 0 and adversarial.max() <= 1

    saved = tmp_path / "adversarial.npy"
    job.save_artifact("adversarial_examples.npy", saved)
    np.testing.assert_array_equal(np.load(saved), adversarial)


def test_wait_times_out_and_cancel_ends_the_job(client: Client, fixtures: Path, images: np.ndarray,
                                                labels: np.ndarray) -> None:
    model = client.upload_model(fixtures / "models" / "fmnist_lenet.onnx")
    dataset = client.upload_dataset(images, labels)
    slow = {"epsilon": 0.1, "steps": 100000, "step_size": 0.001, "preprocess": PIXELS}
    job = client.submit("pgd", model, dataset, config=slow)
    started = time.monotonic()
    with pytest.raises(JobTimeoutError) as timeout:
        job.wait(timeout=0.5)
    assert isinstance(timeout.value, TimeoutError)
    assert timeout.value.code == grpc.StatusCode.DEADLINE_EXCEEDED
    assert time.monotonic() - started < 5

    job.cancel()
    with pytest.raises(JobFailedError) as failed:
        job.wait(timeout=30)
    assert failed.value.job.state == "CANCELLED"
    assert job.state == "CANCELLED"
    with pytest.raises(JobFailedError):
        job.report_dict()
    assert job.id in [j.id for j in client.list_jobs(state="CANCELLED", engine="pgd")]


def test_errors_carry_the_grpc_status_and_the_server_message(client: Client, fixtures: Path) -> None:
    with pytest.raises(CrucibleError) as missing:
        client.get_job("no-such-job")
    assert missing.value.code == grpc.StatusCode.NOT_FOUND
    assert "no-such-job" in missing.value.message

    model = client.upload_model(fixtures / "models" / "fmnist_mlp.onnx")
    with pytest.raises(CrucibleError) as no_dataset:
        client.submit("evaluate", model)
    assert no_dataset.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert "dataset" in no_dataset.value.message

    with pytest.raises(ValueError, match="unknown engine 'fgsn'"):
        client.submit("fgsn", model)
    with pytest.raises(ValueError, match="epsilonn"):
        client.submit("fgsm", model, "x", config={"epsilonn": 0.1})
    with pytest.raises(ValueError, match="PgdConfig"):
        client.submit("fgsm", model, "x", config=engines_pb2.PgdConfig())
    assert engine_names()[:3] == ["evaluate", "fgsm", "pgd"]

    with pytest.raises(CrucibleError) as bad_model:
        client.upload_model(b"not an onnx model")
    assert bad_model.value.code == grpc.StatusCode.INVALID_ARGUMENT


def test_unreachable_server_is_unavailable() -> None:
    with Client("127.0.0.1:1", timeout=5) as unreachable:
        with pytest.raises(CrucibleError) as error:
            unreachable.get_model("0" * 64)
    assert error.value.code == grpc.StatusCode.UNAVAILABLE


def test_a_retried_submit_with_the_same_request_id_is_one_job(client: Client, fixtures: Path,
                                                              images: np.ndarray, labels: np.ndarray) -> None:
    model = client.upload_model(fixtures / "models" / "fmnist_mlp.onnx")
    dataset = client.upload_dataset(images[:50], labels[:50])
    first = client.submit("evaluate", model, dataset, config={"preprocess": PIXELS}, request_id="ci-run-17")
    again = client.submit("evaluate", model, dataset, config={"preprocess": PIXELS}, request_id="ci-run-17")
    assert again.id == first.id
    assert client.get_job(first.id).wait(timeout=60).report_dict()["num_examples"] == 50


def test_delete_model(client: Client, fixtures: Path) -> None:
    model = client.upload_model((fixtures / "models" / "fmnist_resnet.onnx").read_bytes(), name="resnet")
    assert model.name == "resnet"
    client.delete_model(model)
    with pytest.raises(CrucibleError) as gone:
        client.get_model(model.id)
    assert gone.value.code == grpc.StatusCode.NOT_FOUND
