"""ArchiveService over real gRPC on a disk folder: round trips, errors, persistence, the lock."""

import os
import subprocess
import sys

import grpc
import pytest

from kernelwright.archive.v1 import archive_pb2 as pb
from kernelwright.archive.v1 import archive_pb2_grpc
from kernelwright.common.v1 import hardware_pb2, task_pb2

pytestmark = pytest.mark.integration

H100 = "NVIDIA H100 80GB HBM3"


def _entry(task, ops, code, *, correct=True, verified=True, hardware=H100, speedup=1.5):
    return pb.ArchiveEntry(
        task_name=task, ops=ops, op_signature="+".join(ops), cuda_source=code,
        functional_source=f"def module_fn(x):\n    # {' '.join(ops)}\n    return x\n",
        inputs=[task_pb2.TensorSpec(shape=[16, 64, 32, 32], dtype="float32")],
        correct=correct, verified=verified, hardware=hardware_pb2.Hardware(gpu_name=hardware),
        speedup_eager=speedup, format=1,
    )


CONV_RELU = _entry("1_Conv2D_ReLU", ["conv2d", "relu"],
                   "__global__ void conv_relu(float* y, const float* x) { /* conv then relu */ }")
GEMM_SOFTMAX = _entry("99_Matmul_Softmax", ["linear", "softmax"],
                      "__global__ void gemm_softmax(float* y) { /* gemm, softmax */ }")


async def test_put_get_search_stats_round_trip(archive_server):
    channel, _, _ = archive_server
    stub = archive_pb2_grpc.ArchiveServiceStub(channel)
    a = await stub.PutEntry(pb.PutEntryRequest(entry=CONV_RELU))
    b = await stub.PutEntry(pb.PutEntryRequest(entry=GEMM_SOFTMAX))
    assert a.id and b.id and a.id != b.id and not a.duplicate

    got = (await stub.GetEntry(pb.GetEntryRequest(id=a.id))).entry
    assert got.task_name == "1_Conv2D_ReLU" and list(got.ops) == ["conv2d", "relu"]
    assert got.hardware.gpu_name == H100 and got.verified and got.code_hash

    hits = (await stub.Search(pb.SearchRequest(ops=["conv2d", "relu"], limit=2))).hits
    assert [h.entry.id for h in hits][0] == a.id, "the conv+relu entry must rank first for a conv+relu query"

    stats = await stub.GetStats(pb.GetStatsRequest())
    assert stats.total == 2 and stats.correct == 2 and stats.by_hardware[H100] == 2
    assert stats.backend.startswith("local:")


async def test_duplicate_code_is_not_stored_twice(archive_server):
    channel, _, _ = archive_server
    stub = archive_pb2_grpc.ArchiveServiceStub(channel)
    first = await stub.PutEntry(pb.PutEntryRequest(entry=CONV_RELU))
    same_code_other_comments = _entry("1_Conv2D_ReLU", ["conv2d", "relu"],
                                      "__global__ void conv_relu(float* y,   const float* x) { }  // reformatted")
    second = await stub.PutEntry(pb.PutEntryRequest(entry=same_code_other_comments))
    assert second.duplicate and second.id == first.id
    assert (await stub.GetStats(pb.GetStatsRequest())).total == 1


async def test_search_filters_incorrect_and_hardware(archive_server):
    channel, _, _ = archive_server
    stub = archive_pb2_grpc.ArchiveServiceStub(channel)
    await stub.PutEntry(pb.PutEntryRequest(entry=_entry("wrong", ["conv2d", "relu"], "__global__ void w(){}",
                                                        correct=False)))
    await stub.PutEntry(pb.PutEntryRequest(entry=_entry("a100", ["conv2d", "relu"], "__global__ void a(){}",
                                                        hardware="NVIDIA A100-SXM4-80GB")))
    hits = (await stub.Search(pb.SearchRequest(ops=["conv2d", "relu"]))).hits
    assert {h.entry.task_name for h in hits} == {"a100"}
    hits = (await stub.Search(pb.SearchRequest(ops=["conv2d", "relu"], hardware=H100))).hits
    assert hits == []
    hits = (await stub.Search(pb.SearchRequest(ops=["conv2d", "relu"], include_incorrect=True))).hits
    assert {h.entry.task_name for h in hits} == {"a100", "wrong"}


@pytest.mark.parametrize("call, request_, code", [
    ("GetEntry", pb.GetEntryRequest(id=""), grpc.StatusCode.INVALID_ARGUMENT),
    ("GetEntry", pb.GetEntryRequest(id="6f1c2d9e-0000-4000-8000-000000000000"), grpc.StatusCode.NOT_FOUND),
    ("DeleteEntry", pb.DeleteEntryRequest(id="6f1c2d9e-0000-4000-8000-000000000000"), grpc.StatusCode.NOT_FOUND),
    ("PutEntry", pb.PutEntryRequest(entry=pb.ArchiveEntry(task_name="x")), grpc.StatusCode.INVALID_ARGUMENT),
    ("Search", pb.SearchRequest(), grpc.StatusCode.INVALID_ARGUMENT),
    ("Search", pb.SearchRequest(ops=["relu"], limit=1000), grpc.StatusCode.INVALID_ARGUMENT),
])
async def test_bad_requests_get_clear_status(archive_server, call, request_, code):
    channel, _, _ = archive_server
    stub = archive_pb2_grpc.ArchiveServiceStub(channel)
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await getattr(stub, call)(request_)
    assert info.value.code() == code and info.value.details()


async def test_malformed_bytes_are_rejected_and_service_keeps_serving(archive_server):
    channel, _, _ = archive_server
    raw = channel.unary_unary("/kernelwright.archive.v1.ArchiveService/PutEntry",
                              request_serializer=lambda b: b, response_deserializer=lambda b: b)
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await raw(b"\xff\xff\xff\xff not a protobuf")
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    stub = archive_pb2_grpc.ArchiveServiceStub(channel)
    assert (await stub.PutEntry(pb.PutEntryRequest(entry=CONV_RELU))).id


async def test_import_is_unverified_and_export_streams_everything(archive_server):
    channel, _, _ = archive_server
    stub = archive_pb2_grpc.ArchiveServiceStub(channel)

    async def batches():
        yield pb.ImportEntriesRequest(entries=[CONV_RELU, GEMM_SOFTMAX])
        yield pb.ImportEntriesRequest(entries=[CONV_RELU])  # a duplicate across batches

    reply = await stub.ImportEntries(batches())
    assert (reply.received, reply.stored, reply.duplicates) == (3, 2, 1)
    exported = [e async for r in stub.ExportEntries(pb.ExportEntriesRequest(batch_size=1)) for e in r.entries]
    assert len(exported) == 2
    assert not any(e.verified for e in exported), "imported rows must be unverified"


async def test_data_survives_a_restart(archive_server):
    channel, restart, _ = archive_server
    stub = archive_pb2_grpc.ArchiveServiceStub(channel)
    put = await stub.PutEntry(pb.PutEntryRequest(entry=CONV_RELU))
    channel = await restart()
    stub = archive_pb2_grpc.ArchiveServiceStub(channel)
    assert (await stub.GetEntry(pb.GetEntryRequest(id=put.id))).entry.task_name == "1_Conv2D_ReLU"
    hits = (await stub.Search(pb.SearchRequest(ops=["conv2d", "relu"]))).hits
    assert hits and hits[0].entry.id == put.id


async def test_second_process_on_same_folder_is_refused_clearly(archive_server):
    channel, _, folder = archive_server
    env = dict(os.environ, KW_ARCHIVE_PATH=str(folder), KW_ARCHIVE_PORT="0", KW_ARCHIVE_LOG_FORMAT="json")
    result = subprocess.run([sys.executable, "-m", "kernelwright.archive"], env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 2
    assert "in use by another process" in result.stderr
    # The owner is unaffected.
    stub = archive_pb2_grpc.ArchiveServiceStub(channel)
    assert (await stub.GetStats(pb.GetStatsRequest())).backend.startswith("local:")
