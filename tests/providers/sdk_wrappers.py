"""Providers that wrap the official SDKs (openai, anthropic, ollama).

They exist to show that the contract is not tuned to the kit's own reference providers:
written the way their SDKs' documentation suggests, they pass the suite too.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from typing import Any

from laios_conformance import LLMClient, LLMMessage, LLMResponse


def _as_dicts(messages: list[Any]) -> list[dict[str, str]]:
    return [{"role": m.role, "content": m.content} for m in messages]


def _require_text(text: str | None, refusal: str | None = None) -> str:
    if not text:
        raise RuntimeError(f"the model refused: {refusal}" if refusal else "the response carries no text")
    return text


def _key_kept_out(key: str | None, call: Callable[[], Any]) -> Any:
    """``call()``; the SDKs' errors quote the server's error body, and a proxy may repeat in it
    the key it was sent (LiteLLM's 401 does): such an error is raised again as a RuntimeError
    with the key replaced, after the ``except`` block so that the original is not its context."""
    try:
        return call()
    except Exception as exc:
        if not key or key not in str(exc):
            raise
        message = f"{type(exc).__name__}: {str(exc).replace(key, '<API key>')}"
    raise RuntimeError(message)


class _SystemViaGenerate:
    def generate_with_system(
        self, system_prompt: str, user_message: str, temperature: float = 0.7, max_tokens: int = 2048, **kwargs: Any
    ) -> LLMResponse:
        messages = [LLMMessage(role="system", content=system_prompt), LLMMessage(role="user", content=user_message)]
        return self.generate(messages, temperature, max_tokens, **kwargs)


class OpenAISDKProvider(_SystemViaGenerate, LLMClient):
    def __init__(self, model: str = "gpt-4o-mini", base_url: str | None = None, api_key: str | None = None) -> None:
        import openai

        super().__init__(model=model)
        self._client = openai.OpenAI(api_key=api_key, base_url=base_url, timeout=30.0, max_retries=2)
        self._key = api_key

    def __repr__(self) -> str:
        return f"OpenAISDKProvider(model={self.model!r})"

    def _create(self, messages: list[Any], temperature: float, max_tokens: int, stream: bool) -> Any:
        return _key_kept_out(
            self._key,
            lambda: self._client.chat.completions.create(
                model=self.model,
                messages=_as_dicts(messages),
                temperature=temperature,
                max_tokens=max_tokens,
                stream=stream,
            ),
        )

    def generate(
        self, messages: list[Any], temperature: float = 0.7, max_tokens: int = 2048, **kwargs: Any
    ) -> LLMResponse:
        completion = self._create(messages, temperature, max_tokens, stream=False)
        choice = completion.choices[0]
        usage = (
            completion.usage.model_dump(include={"prompt_tokens", "completion_tokens", "total_tokens"})
            if completion.usage
            else None
        )
        return LLMResponse(
            content=_require_text(choice.message.content, refusal=choice.message.refusal),
            model=completion.model or self.model,
            finish_reason=choice.finish_reason,
            usage=usage,
        )

    def generate_stream(
        self, messages: list[Any], temperature: float = 0.7, max_tokens: int = 2048, **kwargs: Any
    ) -> Iterator[str]:
        finished = carried_text = False
        with self._create(messages, temperature, max_tokens, stream=True) as stream:
            for chunk in stream:
                for choice in chunk.choices:
                    if choice.delta.content:
                        carried_text = True
                        yield choice.delta.content
                    finished = finished or bool(choice.finish_reason)
        if not finished:
            raise RuntimeError("the stream ended without a finish_reason")
        if not carried_text:
            raise RuntimeError("the stream carried no text")


class AnthropicSDKProvider(LLMClient):
    # The current anthropic SDK's messages.create() takes no temperature at all.
    conformance_profile = {"omits_params": {"temperature": "the anthropic SDK 2.x does not accept temperature"}}

    def __init__(
        self, model: str = "claude-3-haiku-20240307", base_url: str | None = None, api_key: str | None = None
    ) -> None:
        import anthropic

        super().__init__(model=model)
        self._client = anthropic.Anthropic(api_key=api_key, base_url=base_url, timeout=30.0, max_retries=2)
        self._key = api_key

    def __repr__(self) -> str:
        return f"AnthropicSDKProvider(model={self.model!r})"

    @staticmethod
    def _split(messages: list[Any]) -> tuple[Any, list[dict[str, str]]]:
        system = "\n\n".join(m.content for m in messages if m.role == "system")
        return (system or anthropic_omit()), [d for d in _as_dicts(messages) if d["role"] != "system"]

    def generate(
        self, messages: list[Any], temperature: float = 0.7, max_tokens: int = 2048, **kwargs: Any
    ) -> LLMResponse:
        system, turns = self._split(messages)
        message = self._message(system, turns, max_tokens)
        text = "".join(block.text for block in message.content if block.type == "text")
        usage = {
            "prompt_tokens": message.usage.input_tokens,
            "completion_tokens": message.usage.output_tokens,
            "total_tokens": message.usage.input_tokens + message.usage.output_tokens,
        }
        return LLMResponse(
            content=_require_text(text),
            model=message.model or self.model,
            finish_reason=message.stop_reason,
            usage=usage,
        )

    @contextlib.contextmanager
    def _stream(self, system: Any, turns: list[dict[str, str]], max_tokens: int) -> Iterator[Any]:
        """The SDK's message stream, opened (the request sent) under :func:`_key_kept_out`."""
        manager = self._client.messages.stream(model=self.model, max_tokens=max_tokens, system=system, messages=turns)
        stream = _key_kept_out(self._key, manager.__enter__)
        try:
            yield stream
        finally:
            manager.__exit__(None, None, None)

    def _message(self, system: Any, turns: list[dict[str, str]], max_tokens: int) -> Any:
        create = functools.partial(self._client.messages.create, model=self.model, max_tokens=max_tokens)
        return _key_kept_out(self._key, lambda: create(system=system, messages=turns))

    def generate_with_system(
        self, system_prompt: str, user_message: str, temperature: float = 0.7, max_tokens: int = 2048, **kwargs: Any
    ) -> LLMResponse:
        messages = [LLMMessage(role="system", content=system_prompt), LLMMessage(role="user", content=user_message)]
        return self.generate(messages, temperature, max_tokens)

    def generate_stream(
        self, messages: list[Any], temperature: float = 0.7, max_tokens: int = 2048, **kwargs: Any
    ) -> Iterator[str]:
        system, turns = self._split(messages)
        stopped = carried_text = False
        with self._stream(system, turns, max_tokens) as stream:
            for event in stream:
                if event.type == "text" and event.text:
                    carried_text = True
                    yield event.text
                stopped = stopped or event.type == "message_stop"
        if not stopped:
            raise RuntimeError("the stream ended without message_stop")
        if not carried_text:
            raise RuntimeError("the stream carried no text")


class AnthropicSDKStreamedGenerate(AnthropicSDKProvider):
    """generate() on the SDK's recommended helper for long answers: the message a stream
    accumulates (``messages.stream(...).get_final_message()``). That helper returns what a
    stream cut short carried, with no ``stop_reason``: this provider raises then."""

    def generate(
        self, messages: list[Any], temperature: float = 0.7, max_tokens: int = 2048, **kwargs: Any
    ) -> LLMResponse:
        response = super().generate(messages, temperature, max_tokens, **kwargs)
        if response.finish_reason is None:
            raise RuntimeError("the stream ended before its stop_reason: the answer was cut short")
        return response

    def _message(self, system: Any, turns: list[dict[str, str]], max_tokens: int) -> Any:
        with self._stream(system, turns, max_tokens) as stream:
            return stream.get_final_message()


def anthropic_omit() -> Any:
    import anthropic

    return anthropic.omit


class OllamaSDKProvider(_SystemViaGenerate, LLMClient):
    def __init__(self, model: str = "llama3.1", base_url: str = "http://localhost:11434") -> None:
        import ollama

        super().__init__(model=model)
        self._client = ollama.Client(host=base_url, timeout=30.0)

    def _chat(self, messages: list[Any], temperature: float, max_tokens: int, stream: bool) -> Any:
        return self._client.chat(
            model=self.model,
            messages=_as_dicts(messages),
            stream=stream,
            options={"temperature": temperature, "num_predict": max_tokens},
        )

    def generate(
        self, messages: list[Any], temperature: float = 0.7, max_tokens: int = 2048, **kwargs: Any
    ) -> LLMResponse:
        response = self._chat(messages, temperature, max_tokens, stream=False)
        usage = {"prompt_tokens": response.prompt_eval_count or 0, "completion_tokens": response.eval_count or 0}
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        return LLMResponse(
            content=_require_text(response.message.content),
            model=response.model or self.model,
            finish_reason=response.done_reason,
            usage=usage,
        )

    def generate_stream(
        self, messages: list[Any], temperature: float = 0.7, max_tokens: int = 2048, **kwargs: Any
    ) -> Iterator[str]:
        done = carried_text = False
        for part in self._chat(messages, temperature, max_tokens, stream=True):
            if part.message.content:
                carried_text = True
                yield part.message.content
            done = done or bool(part.done)
        if not done:
            raise RuntimeError("the stream ended without done: true")
        if not carried_text:
            raise RuntimeError("the stream carried no text")
