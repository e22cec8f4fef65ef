"""Shared helpers every app may use (no app imports here): the error type and its renderer, request
body parsing, database work from async code, middleware, routing, pagination, environment readers."""
