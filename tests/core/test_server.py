"""The shared bootstrap and error interceptor, against a real server on port 0."""

import grpc
import pytest
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from kernelwright.common.v1 import task_pb2
from kernelwright.converter.v1 import converter_pb2, converter_pb2_grpc
from kernelwright.core.errors import InvalidArgument, NotFound, ResourceExhausted
from kernelwright.core.metrics import default_metrics
from kernelwright.core.server import binding, create_server, set_serving
from kernelwright.core.settings import ServiceSettings

pytestmark = pytest.mark.integration


class Raiser(converter_pb2_grpc.ConverterServiceServicer):
    """Raises whatever the task name asks for, to exercise the interceptor."""

    async def Convert(self, request, context):
        name = request.task.name
        if name == "invalid":
            raise InvalidArgument("task.source does not parse: line 3")
        if name == "missing":
            raise NotFound("no such thing")
        if name == "busy":
            raise ResourceExhausted("queue full", retry_after_ms=1500)
        if name == "bug":
            raise RuntimeError("boom")
        return converter_pb2.ConvertResponse(verdict=converter_pb2.ConversionVerdict(message="ok " + name))


@pytest.fixture
async def server():
    health_servicer = health.aio.HealthServicer()
    bindings = [binding(converter_pb2, "ConverterService",
                        converter_pb2_grpc.add_ConverterServiceServicer_to_server, Raiser())]
    srv, port = await create_server(ServiceSettings(port=0), bindings, health_servicer)
    await srv.start()
    await set_serving(health_servicer, bindings, True)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        yield channel, health_servicer, bindings
    await srv.stop(0)


async def _call(channel, name):
    stub = converter_pb2_grpc.ConverterServiceStub(channel)
    return await stub.Convert(converter_pb2.ConvertRequest(task=task_pb2.Task(name=name)), timeout=5)


@pytest.mark.parametrize("name, code, text", [
    ("invalid", grpc.StatusCode.INVALID_ARGUMENT, "does not parse"),
    ("missing", grpc.StatusCode.NOT_FOUND, "no such thing"),
    ("bug", grpc.StatusCode.INTERNAL, "RuntimeError: boom"),
])
async def test_exceptions_become_status_codes(server, name, code, text):
    channel, _, _ = server
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await _call(channel, name)
    assert info.value.code() == code
    assert text in info.value.details()


async def test_resource_exhausted_carries_retry_hint(server):
    channel, _, _ = server
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await _call(channel, "busy")
    assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert ("retry-after-ms", "1500") in tuple(info.value.trailing_metadata())


async def test_keeps_serving_after_errors_and_counts_them(server):
    channel, _, _ = server
    metrics = default_metrics()
    before = metrics.errors.labels("kernelwright", "Convert", "INTERNAL")._value.get()
    with pytest.raises(grpc.aio.AioRpcError):
        await _call(channel, "bug")
    assert metrics.errors.labels("kernelwright", "Convert", "INTERNAL")._value.get() == before + 1
    reply = await _call(channel, "fine")
    assert reply.verdict.message == "ok fine"
    status = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5)
    assert status.status == health_pb2.HealthCheckResponse.SERVING


async def test_health_flips_to_not_serving_for_drain(server):
    channel, health_servicer, bindings = server
    await set_serving(health_servicer, bindings, False)
    status = await health_pb2_grpc.HealthStub(channel).Check(
        health_pb2.HealthCheckRequest(service="kernelwright.converter.v1.ConverterService"), timeout=5)
    assert status.status == health_pb2.HealthCheckResponse.NOT_SERVING


async def test_reflection_lists_the_service(server):
    from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

    channel, _, _ = server
    stub = reflection_pb2_grpc.ServerReflectionStub(channel)
    request = reflection_pb2.ServerReflectionRequest(list_services="")
    async for reply in stub.ServerReflectionInfo(iter([request])):
        names = {s.name for s in reply.list_services_response.service}
        break
    assert "kernelwright.converter.v1.ConverterService" in names
    assert "grpc.health.v1.Health" in names


async def test_oversized_message_is_refused():
    srv, port = await create_server(ServiceSettings(port=0, max_message_bytes=1024 * 1024), [])
    await srv.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}",
                                             options=[("grpc.max_send_message_length", -1)]) as channel:
            # Health has no large fields; use a raw unary call with 2 MiB of bytes.
            call = channel.unary_unary("/grpc.health.v1.Health/Check",
                                       request_serializer=lambda b: b, response_deserializer=lambda b: b)
            with pytest.raises(grpc.aio.AioRpcError) as info:
                await call(b"\x0a" + b"\xff\xff\x7f" + b"x" * (2 * 1024 * 1024), timeout=5)
            assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    finally:
        await srv.stop(0)
