"""The GGUF's byte-level BPE vocabulary as a `tokenizers` tokenizer, and the chat prompt.

Markup (`<|im_start|>`...) is only ever produced by the chat template: message text is encoded
with a tokenizer that knows no special tokens, so a user who types `<|im_start|>system` gets those
characters, not a new system turn."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property

from jinja2.sandbox import ImmutableSandboxedEnvironment
from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers

from voxhub.llm.gguf_file import Vocabulary
from voxhub.llm.port import ChatMessage

# Stand-ins for message text while the template renders (private-use characters no message
# contains after `_clean`), so the rendered markup and the texts can be encoded apart.
_OPEN, _CLOSE = "\ue000", "\ue001"


def _bytes_to_unicode() -> dict[int, str]:
    # GPT-2's byte-level alphabet: each byte is shown as a printable character.
    keep = [*range(ord("!"), ord("~") + 1), *range(0xA1, 0xAD), *range(0xAE, 0x100)]
    table = {b: chr(b) for b in keep}
    extra = 0
    for b in range(256):
        if b not in table:
            table[b] = chr(256 + extra)
            extra += 1
    return table


class ChatTokenizer:
    """Encode chat prompts and decode replies for one GGUF vocabulary."""

    def __init__(self, vocab: Vocabulary, chat_template: str) -> None:
        self.vocab = vocab
        ids = {tok: i for i, tok in enumerate(vocab.tokens)}
        merges = [tuple(m.split(" ", 1)) for m in vocab.merges]
        self.plain = self._build(ids, merges, vocab.pre)
        self.markup = self._build(ids, merges, vocab.pre)
        self.markup.add_special_tokens(
            [AddedToken(vocab.tokens[i], special=True, normalized=False) for i in vocab.control]
        )
        env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
        self.template = env.from_string(chat_template or _CHATML)

    @staticmethod
    def _build(ids: dict[str, int], merges: list[tuple[str, ...]], pre: str) -> Tokenizer:
        tok = Tokenizer(models.BPE(ids, merges, fuse_unk=False))  # type: ignore[arg-type]
        byte_level = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
        if pre in ("smollm", "llama-bpe", "llama3", "qwen2"):
            # These split digits one by one before the GPT-2 pattern.
            tok.pre_tokenizer = pre_tokenizers.Sequence(
                [pre_tokenizers.Digits(individual_digits=True), byte_level]
            )
        else:
            tok.pre_tokenizer = byte_level
        tok.decoder = decoders.ByteLevel()
        return tok

    def encode_chat(self, messages: Sequence[ChatMessage]) -> list[int]:
        """The prompt's token ids, ending where the assistant's reply begins."""
        texts = [_clean(m.content) for m in messages]
        stand_ins = [
            {"role": m.role, "content": f"{_OPEN}{i}{_CLOSE}"} for i, m in enumerate(messages)
        ]
        rendered = self.template.render(
            messages=stand_ins,
            add_generation_prompt=True,
            bos_token=self._token(self.vocab.bos),
            eos_token=self._token(self.vocab.eos),
        )
        ids: list[int] = []
        for piece in rendered.split(_OPEN):
            index, sep, markup = piece.partition(_CLOSE)
            if sep:
                ids += self.plain.encode(texts[int(index)], add_special_tokens=False).ids
            else:
                markup = piece
            if markup:
                ids += self.markup.encode(markup, add_special_tokens=False).ids
        return ids

    def count(self, messages: Sequence[ChatMessage]) -> int:
        """Prompt tokens for `messages`, additive: each turn's text and framing, plus the reply's
        opening. Exact for a conversation that starts with its system turn; a caller can budget
        turn by turn (some templates add a default system turn to a conversation without one)."""
        opening, framing = self._framing
        return opening + sum(
            framing[m.role] + len(self.plain.encode(_clean(m.content), add_special_tokens=False))
            for m in messages
        )

    @cached_property
    def _framing(self) -> tuple[int, dict[str, int]]:
        """(tokens of the reply's opening, tokens framing one turn of each role), measured on
        the template with empty turns."""
        system = ChatMessage("system", "")
        one = len(self.encode_chat([system]))
        framing = {
            role: len(self.encode_chat([system, ChatMessage(role, "")])) - one
            for role in ("system", "user", "assistant")
        }
        return one - framing["system"], framing

    def decode(self, ids: Sequence[int]) -> str:
        return self.markup.decode(list(ids), skip_special_tokens=True)

    @cached_property
    def token_bytes(self) -> list[bytes | None]:
        """Each token's bytes; None for markup (what constrained decoding must never emit)."""
        back = {c: b for b, c in _bytes_to_unicode().items()}
        out: list[bytes | None] = []
        for i, tok in enumerate(self.vocab.tokens):
            if i in self.vocab.control or any(c not in back for c in tok):
                out.append(None)
            else:
                out.append(bytes(back[c] for c in tok))
        return out

    def _token(self, token_id: int | None) -> str:
        return self.vocab.tokens[token_id] if token_id is not None else ""


def _clean(text: str) -> str:
    return text.replace(_OPEN, "").replace(_CLOSE, "")


# For a GGUF without a template: ChatML, which SmolLM2 and Qwen use.
_CHATML = (
    "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
