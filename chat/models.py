from chat.prompt_models import Prompt, PromptHistory

__all__ = ["Prompt", "PromptHistory"]
