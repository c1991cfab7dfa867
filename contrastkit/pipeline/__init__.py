"""Glue between a configuration and the library's parts: build, train, evaluate, embed."""
