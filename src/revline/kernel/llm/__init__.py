"""LLM gateway: every LLM call in Revline goes through here.

```python
gw = get_gateway(settings)                    # LLMNotConfigured when no provider is set
res = gw.chat(messages, model="default", scope=CallScope(tenant_id=..., feature="x.y"))
```
"""

from revline.kernel.llm.errors import (
    LLMError,
    LLMInvalidOutput,
    LLMUnavailable,
    PriceUnknown,
    StreamTruncated,
)
from revline.kernel.llm.gateway import LLMGateway, get_gateway, reset_gateways
from revline.kernel.llm.streaming import AsyncTextStream, TextStream
from revline.kernel.llm.types import CallScope, ChatResult, Usage

__all__ = [
    "AsyncTextStream",
    "CallScope",
    "ChatResult",
    "LLMError",
    "LLMGateway",
    "LLMInvalidOutput",
    "LLMUnavailable",
    "PriceUnknown",
    "StreamTruncated",
    "TextStream",
    "Usage",
    "get_gateway",
    "reset_gateways",
]
