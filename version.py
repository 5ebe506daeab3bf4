"""The product version, reported by /health and the OpenAPI document."""

VERSION = "0.1.0"
