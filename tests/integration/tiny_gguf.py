"""A tiny random-weight llama GGUF that a real llama-server loads in milliseconds (no download).

2 layers, n_embd 64, 4 heads (2 KV heads), ff 128, context 512, F32, a SentencePiece-style vocab
and a small Jinja chat template. Its text is nonsense: tests assert on response structure only.
"""

from __future__ import annotations

import sys
from pathlib import Path

import gguf
import numpy as np

N_EMBD, N_HEAD, N_HEAD_KV, N_FF, N_LAYER, N_CTX = 64, 4, 2, 128, 2, 512
SPECIAL = ["<unk>", "<s>", "</s>"]
WORDS = ["▁the", "▁a", "▁model", "▁tiny", "▁test", "▁hello", "▁world", "▁gpu", "▁server",
         "▁llama", "▁sleep", "▁wake", "▁fast", "▁small", "▁random", "▁token", "▁answer",
         "▁yes", "▁no", "▁ok", "▁"]
CHAT_TEMPLATE = ("{{ bos_token }}{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n"
                 "{% endfor %}{% if add_generation_prompt %}assistant:{% endif %}")


def vocab() -> tuple[list[str], list[int]]:
    tokens = SPECIAL + [f"<0x{b:02X}>" for b in range(256)] + WORDS
    types = ([gguf.TokenType.UNKNOWN, gguf.TokenType.CONTROL, gguf.TokenType.CONTROL]
             + [gguf.TokenType.BYTE] * 256 + [gguf.TokenType.NORMAL] * len(WORDS))
    return tokens, [int(t) for t in types]


def write_tiny_llama(path: Path, seed: int = 0) -> Path:
    tokens, types = vocab()
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_name("gpumod-tiny-llama")
    writer.add_context_length(N_CTX)
    writer.add_embedding_length(N_EMBD)
    writer.add_block_count(N_LAYER)
    writer.add_feed_forward_length(N_FF)
    writer.add_head_count(N_HEAD)
    writer.add_head_count_kv(N_HEAD_KV)
    writer.add_rope_dimension_count(N_EMBD // N_HEAD)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_file_type(gguf.LlamaFileType.ALL_F32)
    writer.add_tokenizer_model("llama")
    writer.add_token_list(tokens)
    first_word = len(tokens) - len(WORDS)
    writer.add_token_scores([0.0] * first_word + [-float(i) for i in range(len(WORDS))])
    writer.add_token_types(types)
    writer.add_unk_token_id(0)
    writer.add_bos_token_id(1)
    writer.add_eos_token_id(2)
    writer.add_chat_template(CHAT_TEMPLATE)
    for name, tensor in tensors(len(tokens), np.random.default_rng(seed)).items():
        writer.add_tensor(name, tensor)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def tensors(n_vocab: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    def random(*shape: int) -> np.ndarray:
        return (rng.standard_normal(shape) * 0.02).astype(np.float32)

    head_dim = N_EMBD // N_HEAD
    embed = random(n_vocab, N_EMBD)
    # Dimension 0 carries a large constant that no layer writes to (their output rows 0 are
    # zero), so the final hidden state is positive there; word pieces read it with a positive
    # weight and win every greedy pick over the special and byte tokens, whose output rows
    # are zero: no end-of-text, no broken UTF-8, so every answer runs to max_tokens.
    embed[:, 0] = 1.0
    output = random(n_vocab, N_EMBD)
    first_word = len(SPECIAL) + 256
    output[:first_word] = 0.0
    output[first_word:, 0] = 1.0
    found = {"token_embd.weight": embed, "output_norm.weight": np.ones(N_EMBD, np.float32),
             "output.weight": output}
    for i in range(N_LAYER):
        attn_out, ffn_down = random(N_EMBD, N_EMBD), random(N_EMBD, N_FF)
        attn_out[0], ffn_down[0] = 0.0, 0.0
        found |= {f"blk.{i}.attn_norm.weight": np.ones(N_EMBD, np.float32),
                  f"blk.{i}.attn_q.weight": random(N_EMBD, N_EMBD),
                  f"blk.{i}.attn_k.weight": random(N_HEAD_KV * head_dim, N_EMBD),
                  f"blk.{i}.attn_v.weight": random(N_HEAD_KV * head_dim, N_EMBD),
                  f"blk.{i}.attn_output.weight": attn_out,
                  f"blk.{i}.ffn_norm.weight": np.ones(N_EMBD, np.float32),
                  f"blk.{i}.ffn_gate.weight": random(N_FF, N_EMBD),
                  f"blk.{i}.ffn_up.weight": random(N_FF, N_EMBD),
                  f"blk.{i}.ffn_down.weight": ffn_down}
    return found


if __name__ == "__main__":
    print(write_tiny_llama(Path(sys.argv[1])))
