"""OpenAI-shaped handlers: requests in, engine events out as chat, completions, logprobs; embeddings, moderation, files, fine-tuning."""
