from chat import prompt_admin  # noqa: F401 (registers the prompt admin)
