"""Adapters from the vendors' computer-use tools to a :class:`~jupyter_desktop.Desktop`.

* :class:`AnthropicComputer`: Claude's ``computer_20250124`` / ``computer_20251124`` tools and the
  ``computer_toolset_20260801`` toolset (the ``anthropic`` SDK's ``BetaAbstractComputerToolset20260801``).
* :class:`OpenAIComputer`: OpenAI's ``computer`` tool (batched ``actions[]``) and ``computer_use_preview``, and the
  OpenAI Agents SDK's ``Computer`` / ``AsyncComputer``.

Each sees the desktop through a :class:`ModelView`: screenshots sized for the model, its coordinates mapped back to
the screen, a settled screen before each screenshot. The SDKs are optional extras
(``pip install 'jupyter_desktop[anthropic]'``, ``[openai]``); only the parts that subclass an SDK class need them.
"""

from .anthropic import AnthropicComputer
from .model_view import ActionError, ModelView
from .openai import OpenAIComputer

__all__ = ["AnthropicComputer", "OpenAIComputer", "ModelView", "ActionError"]
