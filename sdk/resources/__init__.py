"""The resources of the clients, one module each: ``chat``, ``completions``, ``embeddings``, ``models``, ``files``,
``fine_tuning``, ``moderations``, ``responses``, ``batches`` and ``evals``; each has its async class and the sync
class that mirrors it."""
