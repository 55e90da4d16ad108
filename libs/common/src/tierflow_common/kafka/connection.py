"""Connection options shared by every Kafka client (plaintext locally, TLS/SASL in production)."""

from __future__ import annotations

import ssl
from typing import Any

from tierflow_common.config import InfraSettings


def client_options(infra: InfraSettings) -> dict[str, Any]:
    """Keyword arguments for aiokafka clients from the infrastructure settings."""
    options: dict[str, Any] = {
        "bootstrap_servers": infra.kafka_bootstrap_servers,
        "security_protocol": infra.kafka_security_protocol,
    }
    if infra.kafka_security_protocol in {"SSL", "SASL_SSL"}:
        options["ssl_context"] = ssl.create_default_context(cafile=infra.kafka_ssl_cafile)
    if infra.kafka_sasl_mechanism:
        options["sasl_mechanism"] = infra.kafka_sasl_mechanism
        options["sasl_plain_username"] = infra.kafka_sasl_username
        if infra.kafka_sasl_password is not None:
            options["sasl_plain_password"] = infra.kafka_sasl_password.get_secret_value()
    return options
