"""Adapters from the vendors' computer-use tools to a :class:`~jupyter_desktop.Desktop`.

* :class:`AnthropicComputer`: Claude's ``computer_20250124`` / ``computer_20251124`` tools and the
  ``computer_toolset_20260801`` toolset (the ``anthropic`` SDK's ``BetaAbstractComputerToolset20260801``).
* :class:`OpenAIComputer`: OpenAI's ``computer`` tool (batched ``actions[]``) and ``computer_use_preview``, and the
  OpenAI Agents SDK's ``Computer`` / ``AsyncComputer``.
* :class:`CuaComputer`: cua-agent's computer handler (``ComputerAgent(model=..., tools=[CuaComputer(d)])``).

Each sees the desktop through a :class:`ModelView`: screenshots sized for the model, its coordinates mapped back to
the screen, a settled screen before each screenshot. The SDKs are optional extras
(``pip install 'jupyter_desktop[anthropic]'``, ``[openai]``, ``[cua]``); only the parts that subclass an SDK class
need them (cua's protocol is structural: :class:`CuaComputer` imports nothing of cua).
"""

from .anthropic import AnthropicComputer
from .cua import CuaComputer
from .model_view import ActionError, ModelView
from .openai import OpenAIComputer

__all__ = ["AnthropicComputer", "OpenAIComputer", "CuaComputer", "ModelView", "ActionError"]
