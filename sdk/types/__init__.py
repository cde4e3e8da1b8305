"""The wire format: pydantic models shared by the SDK (which sends them) and the server (which validates them)."""

from .chat import (
    AssistantMessage,
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionMessage,
    ChatCompletionRequest,
    ChatMessage,
    Choice,
    ChoiceDelta,
    ChoiceLogprobs,
    ChunkChoice,
    DeveloperMessage,
    SystemMessage,
    TokenLogprob,
    Tool,
    ToolCall,
    ToolMessage,
    TopLogprob,
    UserMessage,
)
from .common import CompletionUsage, DeletedObject, ErrorObject, ErrorResponse, StreamOptions
from .completions import Completion, CompletionChoice, CompletionLogprobs, CompletionRequest
from .embeddings import CreateEmbeddingResponse, Embedding, EmbeddingRequest, EmbeddingUsage
from .files import FileDeleted, FileObject
from .fine_tuning import (
    FineTuningJob,
    FineTuningJobCheckpoint,
    FineTuningJobEvent,
    FineTuningJobRequest,
    Hyperparameters,
)
from .models import Model, ModelDeleted
from .moderations import ModerationRequest, ModerationResponse, ModerationResult

__all__ = [name for name in dir() if not name.startswith("_")]
