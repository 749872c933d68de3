"""Python SDK for the payment orchestrator API.

>>> from payment_orchestrator import Client, AsyncClient, Webhook, errors

Every parameter ``TypedDict`` (:mod:`.params`), response object (:mod:`.types`,
:mod:`.account`) and ``Literal`` type (:mod:`.literals`) is importable from here too.
"""

from . import account, errors, literals, params, types
from ._async_client import AsyncClient, AsyncOperatorClient
from ._client import Client, OperatorClient
from ._core import DEFAULT_BASE_URL, RetryInfo
from ._version import __version__
from .account import *  # noqa: F403
from .account import __all__ as _account_all
from .errors import ConfigurationError, PaymentOrchestratorError, WebhookVerificationError
from .literals import *  # noqa: F403
from .literals import __all__ as _literals_all
from .pagination import AsyncPage, AsyncPageRequest, Page
from .params import *  # noqa: F403
from .params import __all__ as _params_all
from .types import *  # noqa: F403
from .types import __all__ as _types_all
from .webhooks import Webhook

__all__ = [
    "__version__",
    "Client",
    "AsyncClient",
    "OperatorClient",
    "AsyncOperatorClient",
    "DEFAULT_BASE_URL",
    "Webhook",
    "errors",
    "types",
    "params",
    "account",
    "literals",
    "Page",
    "AsyncPage",
    "AsyncPageRequest",
    "RetryInfo",
    "PaymentOrchestratorError",
    "ConfigurationError",
    "WebhookVerificationError",
    *_params_all,
    *_types_all,
    *_account_all,
    *_literals_all,
]
