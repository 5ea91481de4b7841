"""Wire shapes of apps (API.md §2)."""

from typing import Annotated, Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator, model_validator

from chorus.wire.enums import (
    Channel,
    DispatchRetentionType,
    ProcessingMode,
    ReportView,
    RetentionType,
)
from chorus.wire.numbers import Int

Required = Annotated[str, Field(min_length=1)]


class WireModel(BaseModel):
    model_config = ConfigDict(extra="ignore")


class StaticBearer(WireModel):
    claimed_identity: Required
    token: Required


class StaticToken(WireModel):
    token: Required


class SmsCredentials(WireModel):
    sms_app_id: Required


class BasicAuth(WireModel):
    username: Required
    password: Required


class MmsCredentials(WireModel):
    account_id: Required
    api_key: Required
    basic_auth: BasicAuth
    default_sender: str | None = None


class InstagramCredentials(WireModel):
    token: Required
    business_account_id: str | None = None


class TelegramCredentials(WireModel):
    token: Required


class KakaoTalkCredentials(WireModel):
    kakaotalk_plus_friend_id: Required
    kakaotalk_sender_key: Required


class KakaoTalkChatCredentials(WireModel):
    kakaotalk_plus_friend_id: Required
    api_key: str | None = None


class LineCredentials(WireModel):
    token: Required
    secret: Required
    is_default: bool | None = None


class LineRegion(WireModel):
    token: Required
    secret: Required


class LineEnterpriseCredentials(WireModel):
    is_default: bool | None = None
    line_japan: LineRegion | None = None
    line_thailand: LineRegion | None = None

    @model_validator(mode="after")
    def _one_region(self) -> "LineEnterpriseCredentials":
        if (self.line_japan is None) == (self.line_thailand is None):
            raise ValueError("exactly one of line_japan or line_thailand is required")
        return self


class WeChatCredentials(WireModel):
    app_id: Required
    app_secret: Required
    token: Required
    aes_key: Required


class AppleBcCredentials(WireModel):
    business_chat_account_id: Required
    merchant_id: str | None = None
    apple_pay_certificate_reference: str | None = None
    apple_pay_certificate_password: str | None = None


# Which credential object each channel takes (API.md §2.3).
CREDENTIAL_KEYS: dict[Channel, tuple[str, ...]] = {
    Channel.WHATSAPP: ("static_bearer",),
    Channel.RCS: ("static_bearer",),
    Channel.SMS: ("static_bearer", "sms_credentials"),
    Channel.VIBERBM: ("static_bearer",),
    Channel.MESSENGER: ("static_token",),
    Channel.VIBER: ("static_token",),
    Channel.MMS: ("mms_credentials",),
    Channel.INSTAGRAM: ("instagram_credentials",),
    Channel.TELEGRAM: ("telegram_credentials",),
    Channel.KAKAOTALK: ("kakaotalk_credentials",),
    Channel.KAKAOTALKCHAT: ("kakaotalkchat_credentials",),
    Channel.LINE: ("line_credentials", "line_enterprise_credentials"),
    Channel.WECHAT: ("wechat_credentials",),
    Channel.APPLEBC: ("applebc_credentials",),
}
ALL_CREDENTIAL_KEYS = tuple(dict.fromkeys(k for keys in CREDENTIAL_KEYS.values() for k in keys))


class ChannelCredential(WireModel):
    channel: Channel
    callback_secret: str | None = Field(default=None, max_length=256)
    credential_ordinal_number: Int | None = Field(default=None, ge=0)
    # Extension (VIBERBM only): the kind of Viber service, which decides its sending rules
    # (CHANNELS.md part 2 §2); "2way" when absent.
    account_type: Literal["1way", "2way", "session"] | None = None
    static_bearer: StaticBearer | None = None
    static_token: StaticToken | None = None
    sms_credentials: SmsCredentials | None = None
    mms_credentials: MmsCredentials | None = None
    instagram_credentials: InstagramCredentials | None = None
    telegram_credentials: TelegramCredentials | None = None
    kakaotalk_credentials: KakaoTalkCredentials | None = None
    kakaotalkchat_credentials: KakaoTalkChatCredentials | None = None
    line_credentials: LineCredentials | None = None
    line_enterprise_credentials: LineEnterpriseCredentials | None = None
    wechat_credentials: WeChatCredentials | None = None
    applebc_credentials: AppleBcCredentials | None = None

    @model_validator(mode="after")
    def _credential_matches_channel(self) -> "ChannelCredential":
        given = [key for key in ALL_CREDENTIAL_KEYS if getattr(self, key) is not None]
        expected = CREDENTIAL_KEYS[self.channel]
        if len(given) != 1 or given[0] not in expected:
            raise ValueError(
                f"a {self.channel.value} credential needs exactly one of: {', '.join(expected)}"
            )
        return self

    @property
    def credential_key(self) -> str:
        return next(key for key in ALL_CREDENTIAL_KEYS if getattr(self, key) is not None)

    def stored(self) -> dict[str, Any]:
        """The form kept in the database: what was given, nothing derived."""
        return self.model_dump(mode="json", exclude_none=True)


class RetentionPolicy(WireModel):
    retention_type: RetentionType = RetentionType.MESSAGE_EXPIRE_POLICY
    ttl_days: Int = Field(default=180, ge=1, le=3650)


class DispatchRetentionPolicy(WireModel):
    retention_type: DispatchRetentionType = DispatchRetentionType.MESSAGE_EXPIRE_POLICY
    ttl_days: Int = Field(default=0, ge=0, le=7)


class SmartConversation(WireModel):
    enabled: bool = False


class CallbackSettings(WireModel):
    secret_for_overridden_callback_urls: str = Field(
        default="",
        max_length=256,
        validation_alias=AliasChoices(
            "secret_for_overridden_callback_urls", "secret_for_overridden_target"
        ),
    )


class DeliveryReportBasedFallback(WireModel):
    enabled: bool = False
    delivery_report_waiting_time: Int | None = Field(default=None, ge=10, le=259200)


class MessageRetrySettings(WireModel):
    retry_duration: Int | None = Field(default=None, ge=30, le=3600)


class RateLimits(WireModel):
    """Read-only in the public API; writable here (Decision 9): `outbound` is the app's drain
    rate towards channels in messages per second."""

    inbound: Int = Field(default=25, ge=1, le=100000)
    outbound: Int = Field(default=20, ge=1, le=100000)
    webhooks: Int = Field(default=25, ge=1, le=100000)


class AppFields(WireModel):
    """Fields shared by create and update; every one optional here."""

    display_name: str | None = Field(default=None, min_length=1, max_length=128)
    channel_credentials: list[ChannelCredential] | None = None
    conversation_metadata_report_view: ReportView | None = None
    retention_policy: RetentionPolicy | None = None
    dispatch_retention_policy: DispatchRetentionPolicy | None = None
    processing_mode: ProcessingMode | None = None
    smart_conversation: SmartConversation | None = None
    callback_settings: CallbackSettings | None = Field(
        default=None,
        validation_alias=AliasChoices("callback_settings", "event_destination_settings"),
    )
    delivery_report_based_fallback: DeliveryReportBasedFallback | None = None
    message_retry_settings: MessageRetrySettings | None = None
    rate_limits: RateLimits | None = None

    @field_validator("channel_credentials")
    @classmethod
    def _one_credential_per_channel(
        cls, credentials: list[ChannelCredential] | None
    ) -> list[ChannelCredential] | None:
        seen: set[Channel] = set()
        for credential in credentials or []:
            if credential.channel in seen and credential.channel != Channel.LINE:
                raise ValueError(f"channel {credential.channel.value} is listed twice")
            seen.add(credential.channel)
        return credentials


class AppCreate(AppFields):
    display_name: str = Field(min_length=1, max_length=128)
    channel_credentials: list[ChannelCredential]


class AppUpdate(AppFields):
    pass


UPDATABLE = set(AppFields.model_fields)
READ_ONLY = {"id", "queue_stats", "persist_message_status", "message_search"}
# Object fields an update_mask may name parts of (`retention_policy.ttl_days`).
NESTED = {
    "retention_policy",
    "dispatch_retention_policy",
    "smart_conversation",
    "callback_settings",
    "delivery_report_based_fallback",
    "message_retry_settings",
    "rate_limits",
}
