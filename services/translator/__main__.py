"""``python -m kernelwright.translator``: settings -> logging -> proposer check -> serve."""

from __future__ import annotations

import asyncio

from kernelwright.core.logger import configure_logging, get_logger
from kernelwright.core.server import ServiceBinding, binding, serve
from kernelwright.translator.settings import TranslatorSettings
from kernelwright.translator.v1 import translator_pb2, translator_pb2_grpc


def bindings(settings: TranslatorSettings, **servicer_kwargs):
    """(servicer, bindings); ``servicer.close()`` on shutdown closes evaluator channels and discovery."""
    from kernelwright.translator.servicer import TranslatorServicer

    servicer = TranslatorServicer(settings, **servicer_kwargs)
    services: list[ServiceBinding] = [binding(translator_pb2, "TranslatorService",
                                              translator_pb2_grpc.add_TranslatorServiceServicer_to_server,
                                              servicer)]
    return servicer, services


def check_default_proposers(settings: TranslatorSettings) -> None:
    """Say at start-up (not at the first request) when a default proposer cannot be built."""
    from kernelwright.translator.proposers import ProposerConfigError, ProposerSettings, make_proposer

    log = get_logger("kernelwright.translator")
    for name in settings.proposers:
        try:
            make_proposer(name, ProposerSettings())
        except ProposerConfigError as exc:
            log.warning("default proposer unusable; requests that rely on it fail", proposer=name, reason=str(exc))


def main() -> None:
    settings = TranslatorSettings()
    configure_logging(settings.log_level, settings.log_format)
    check_default_proposers(settings)
    servicer, services = bindings(settings)
    asyncio.run(serve(settings, services, on_shutdown=servicer.close))


if __name__ == "__main__":
    main()
