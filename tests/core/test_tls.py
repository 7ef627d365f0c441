"""TLS between services: a server with a certificate, a client that trusts its CA (and mutual TLS)."""

import shutil
import subprocess

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from pydantic import ValidationError

from kernelwright.core.clients import ClientTls, sync_channel
from kernelwright.core.server import create_server, set_serving
from kernelwright.core.settings import ServiceSettings

pytestmark = pytest.mark.integration


def _openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    if not shutil.which("openssl"):
        pytest.skip("openssl is not installed")
    d = tmp_path_factory.mktemp("pki")
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=kw-test-ca",
             "-keyout", "ca.key", "-out", "ca.pem", cwd=d)
    for name in ("server", "client"):
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={name}", "-keyout", f"{name}.key",
                 "-out", f"{name}.csr", cwd=d)
        (d / f"{name}.ext").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
        _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                 "-days", "1", "-extfile", f"{name}.ext", "-out", f"{name}.pem", cwd=d)
    return d


async def _serve(settings):
    from grpc_health.v1 import health

    h = health.aio.HealthServicer()
    server, port = await create_server(settings, [], h)
    await server.start()
    await set_serving(h, [], True)
    return server, port


def _check(port, tls):
    with sync_channel(f"localhost:{port}", tls=tls) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        return stub.Check(health_pb2.HealthCheckRequest(), timeout=5, wait_for_ready=False).status


async def test_tls_server_and_client(pki):
    settings = ServiceSettings(port=0, tls_cert=str(pki / "server.pem"), tls_key=str(pki / "server.key"))
    server, port = await _serve(settings)
    try:
        import asyncio

        status = await asyncio.to_thread(_check, port, ClientTls(ca=str(pki / "ca.pem")))
        assert status == health_pb2.HealthCheckResponse.SERVING
        with pytest.raises(grpc.RpcError):  # plaintext is refused by a TLS server
            await asyncio.to_thread(_check, port, ClientTls())
    finally:
        await server.stop(0)


async def test_mutual_tls_requires_a_client_certificate(pki):
    import asyncio

    settings = ServiceSettings(port=0, tls_cert=str(pki / "server.pem"), tls_key=str(pki / "server.key"),
                               tls_ca=str(pki / "ca.pem"))
    server, port = await _serve(settings)
    try:
        with_cert = ClientTls(ca=str(pki / "ca.pem"), cert=str(pki / "client.pem"), key=str(pki / "client.key"))
        assert await asyncio.to_thread(_check, port, with_cert) == health_pb2.HealthCheckResponse.SERVING
        with pytest.raises(grpc.RpcError):
            await asyncio.to_thread(_check, port, ClientTls(ca=str(pki / "ca.pem")))
    finally:
        await server.stop(0)


def test_half_a_tls_pair_is_refused_at_startup(tmp_path):
    cert = tmp_path / "c.pem"
    cert.write_text("x")
    with pytest.raises(ValidationError, match="go together"):
        ServiceSettings(tls_cert=str(cert))
    with pytest.raises(ValidationError, match="no such file"):
        ServiceSettings(tls_cert=str(tmp_path / "missing.pem"), tls_key=str(cert))


async def test_plaintext_health_port_serves_only_health(pki):
    import asyncio
    import socket

    from kernelwright.core.server import serve

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        health_port = s.getsockname()[1]
    settings = ServiceSettings(port=0, host="127.0.0.1", tls_cert=str(pki / "server.pem"),
                               tls_key=str(pki / "server.key"), health_port=health_port)
    stop = asyncio.Event()
    task = asyncio.create_task(serve(settings, [], stop_event=stop))
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{health_port}") as channel:
            reply = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=10,
                                                                    wait_for_ready=True)
            assert reply.status == health_pb2.HealthCheckResponse.SERVING
            from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

            stub = reflection_pb2_grpc.ServerReflectionStub(channel)
            with pytest.raises(grpc.aio.AioRpcError) as info:
                async for _ in stub.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")])):
                    pass
            assert info.value.code() == grpc.StatusCode.UNIMPLEMENTED
    finally:
        stop.set()
        await task
