"""``python -m kernelwright.converter``: settings -> logging -> dependencies -> serve."""

from __future__ import annotations

import asyncio

from kernelwright.converter.settings import ConverterSettings
from kernelwright.converter.v1 import converter_pb2, converter_pb2_grpc
from kernelwright.core.logger import configure_logging
from kernelwright.core.server import ServiceBinding, binding, serve


def bindings(settings: ConverterSettings) -> list[ServiceBinding]:
    from kernelwright.converter.servicer import ConverterServicer

    return [binding(converter_pb2, "ConverterService", converter_pb2_grpc.add_ConverterServiceServicer_to_server,
                    ConverterServicer(settings))]


def main() -> None:
    settings = ConverterSettings()
    configure_logging(settings.log_level, settings.log_format)
    asyncio.run(serve(settings, bindings(settings)))


if __name__ == "__main__":
    main()
