"""Model providers: what understands a message the request did not already label.

The brain's input is an ``intent`` and ``slots``. A request may carry them (the deterministic
path: channel integrations, simulations and tests do). When it carries neither, a provider
may extract them from the text:

- :class:`NoProvider` (the default): nothing is extracted; the turn runs on the text alone.
- :class:`OpenAIChatProvider`: an OpenAI-compatible ``/chat/completions`` endpoint, asked for
  ``{"intent": ..., "slots": {...}}`` as JSON, choosing among the intents the agent's
  scenarios test for and the slots the current step collects, with the resolved ``llm``
  settings (model, temperature, maxTokens). A timeout, an HTTP error or an answer that is not
  that JSON falls back to nothing extracted, and says why; the API key (read from an
  environment variable the operator names) is never logged, echoed or put in an error.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class Understanding:
    intent: str | None = None
    slots: dict[str, Any] = field(default_factory=dict)
    source: str = "none"  # none | llm | fallback
    error: str | None = None


class Provider(Protocol):
    def understand(
        self,
        text: str,
        *,
        intents: Sequence[str],
        slots: Sequence[str],
        llm: Mapping[str, Any],
    ) -> Understanding: ...


class NoProvider:
    def understand(
        self,
        text: str,
        *,
        intents: Sequence[str],
        slots: Sequence[str],
        llm: Mapping[str, Any],
    ) -> Understanding:
        return Understanding()


class OpenAIChatProvider:
    def __init__(
        self,
        base_url: str,
        *,
        key_env: str = "FOCAL_LLM_API_KEY",
        timeout: float = 10.0,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.key_env = key_env
        self.timeout = timeout
        self.environ = environ if environ is not None else os.environ

    def understand(
        self,
        text: str,
        *,
        intents: Sequence[str],
        slots: Sequence[str],
        llm: Mapping[str, Any],
    ) -> Understanding:
        import httpx

        instruction = (
            "Classify the customer's message. Answer with one JSON object and nothing else: "
            '{"intent": one of ' + json.dumps(list(intents)) + ' or null, "slots": an object '
            "whose keys are among " + json.dumps(list(slots)) + " (omit what the message does "
            "not say)}."
        )
        body = {
            "model": llm.get("model", "default"),
            "temperature": llm.get("temperature", 0),
            "max_tokens": llm.get("maxTokens", 256),
            "messages": [
                {"role": "system", "content": instruction},
                {"role": "user", "content": text},
            ],
            "response_format": {"type": "json_object"},
        }
        headers = {"Content-Type": "application/json"}
        key = self.environ.get(self.key_env)
        if key:
            headers["Authorization"] = f"Bearer {key}"
        try:
            response = httpx.post(self.url, json=body, headers=headers, timeout=self.timeout)
        except httpx.TimeoutException:
            return Understanding(source="fallback", error=f"timed out after {self.timeout:g} s")
        except httpx.HTTPError as exc:
            return Understanding(source="fallback", error=f"request failed: {type(exc).__name__}")
        if response.status_code != 200:
            return Understanding(source="fallback", error=f"HTTP {response.status_code}")
        try:
            content = response.json()["choices"][0]["message"]["content"]
            answer = json.loads(content)
        except (ValueError, KeyError, IndexError, TypeError):
            return Understanding(source="fallback", error="the answer is not the JSON asked for")
        if not isinstance(answer, dict):
            return Understanding(source="fallback", error="the answer is not a JSON object")
        intent = answer.get("intent")
        if intent is not None and intent not in intents:
            intent = None  # a label the bundle never tests for cannot route anything
        raw_slots = answer.get("slots")
        kept = (
            {k: v for k, v in raw_slots.items() if k in slots and v is not None}
            if isinstance(raw_slots, dict)
            else {}
        )
        return Understanding(intent, kept, "llm")
