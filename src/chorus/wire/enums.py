"""Enumerations of the wire contract (API.md §1.8)."""

from enum import StrEnum


class Channel(StrEnum):
    WHATSAPP = "WHATSAPP"
    RCS = "RCS"
    SMS = "SMS"
    MESSENGER = "MESSENGER"
    VIBERBM = "VIBERBM"
    MMS = "MMS"
    INSTAGRAM = "INSTAGRAM"
    TELEGRAM = "TELEGRAM"
    KAKAOTALK = "KAKAOTALK"
    KAKAOTALKCHAT = "KAKAOTALKCHAT"
    LINE = "LINE"
    WECHAT = "WECHAT"
    APPLEBC = "APPLEBC"
    VIBER = "VIBER"


# Channels whose user identities only mean something within one app (API.md §4.2).
APP_SCOPED_CHANNELS = frozenset(
    {
        Channel.MESSENGER,
        Channel.INSTAGRAM,
        Channel.VIBER,
        Channel.TELEGRAM,
        Channel.LINE,
        Channel.WECHAT,
    }
)

# Channels addressed by a phone number (MSISDN), normalised without "+".
MSISDN_CHANNELS = frozenset(
    {Channel.SMS, Channel.MMS, Channel.RCS, Channel.WHATSAPP, Channel.VIBERBM}
)

# SIM-based channels: one phone number on several of them may be one person (§4.6).
SIM_CHANNELS = frozenset({Channel.SMS, Channel.MMS, Channel.RCS})


class ContactLanguage(StrEnum):
    AF = "AF"
    SQ = "SQ"
    AR = "AR"
    AZ = "AZ"
    BN = "BN"
    BG = "BG"
    CA = "CA"
    ZH = "ZH"
    ZH_CN = "ZH_CN"
    ZH_HK = "ZH_HK"
    ZH_TW = "ZH_TW"
    HR = "HR"
    CS = "CS"
    DA = "DA"
    NL = "NL"
    EN = "EN"
    EN_GB = "EN_GB"
    EN_US = "EN_US"
    ET = "ET"
    FIL = "FIL"
    FI = "FI"
    FR = "FR"
    DE = "DE"
    EL = "EL"
    GU = "GU"
    HA = "HA"
    HE = "HE"
    HI = "HI"
    HU = "HU"
    ID = "ID"
    GA = "GA"
    IT = "IT"
    JA = "JA"
    KN = "KN"
    KK = "KK"
    KO = "KO"
    LO = "LO"
    LV = "LV"
    LT = "LT"
    MK = "MK"
    MS = "MS"
    ML = "ML"
    MR = "MR"
    NB = "NB"
    FA = "FA"
    PL = "PL"
    PT = "PT"
    PT_BR = "PT_BR"
    PT_PT = "PT_PT"
    PA = "PA"
    RO = "RO"
    RU = "RU"
    SR = "SR"
    SK = "SK"
    SL = "SL"
    ES = "ES"
    ES_AR = "ES_AR"
    ES_ES = "ES_ES"
    ES_MX = "ES_MX"
    SW = "SW"
    SV = "SV"
    TA = "TA"
    TE = "TE"
    TH = "TH"
    TR = "TR"
    UK = "UK"
    UR = "UR"
    UZ = "UZ"
    VI = "VI"
    ZU = "ZU"
    UNSPECIFIED = "UNSPECIFIED"


class ProcessingMode(StrEnum):
    CONVERSATION = "CONVERSATION"
    DISPATCH = "DISPATCH"


class ReportView(StrEnum):
    NONE = "NONE"
    FULL = "FULL"


class RetentionType(StrEnum):
    MESSAGE_EXPIRE_POLICY = "MESSAGE_EXPIRE_POLICY"
    CONVERSATION_EXPIRE_POLICY = "CONVERSATION_EXPIRE_POLICY"
    PERSIST_RETENTION_POLICY = "PERSIST_RETENTION_POLICY"


class DispatchRetentionType(StrEnum):
    MESSAGE_EXPIRE_POLICY = "MESSAGE_EXPIRE_POLICY"


class WebhookTargetType(StrEnum):
    HTTP = "HTTP"
    DISMISS = "DISMISS"


class WebhookTrigger(StrEnum):
    MESSAGE_DELIVERY = "MESSAGE_DELIVERY"
    MESSAGE_SUBMIT = "MESSAGE_SUBMIT"
    MESSAGE_INBOUND = "MESSAGE_INBOUND"
    EVENT_DELIVERY = "EVENT_DELIVERY"
    EVENT_INBOUND = "EVENT_INBOUND"
    SMART_CONVERSATIONS = "SMART_CONVERSATIONS"
    MESSAGE_INBOUND_SMART_CONVERSATION_REDACTION = "MESSAGE_INBOUND_SMART_CONVERSATION_REDACTION"
    CONVERSATION_START = "CONVERSATION_START"
    CONVERSATION_STOP = "CONVERSATION_STOP"
    CONVERSATION_DELETE = "CONVERSATION_DELETE"
    CONTACT_CREATE = "CONTACT_CREATE"
    CONTACT_DELETE = "CONTACT_DELETE"
    CONTACT_MERGE = "CONTACT_MERGE"
    CONTACT_UPDATE = "CONTACT_UPDATE"
    CONTACT_IDENTITIES_DUPLICATION = "CONTACT_IDENTITIES_DUPLICATION"
    UNSUPPORTED = "UNSUPPORTED"
    OPT_IN = "OPT_IN"
    OPT_OUT = "OPT_OUT"
    CHANNEL_EVENT = "CHANNEL_EVENT"
    CAPABILITY = "CAPABILITY"
    RECORD_NOTIFICATION = "RECORD_NOTIFICATION"


class MergeStrategy(StrEnum):
    MERGE = "MERGE"


class MetadataUpdateStrategy(StrEnum):
    REPLACE = "REPLACE"
    MERGE_PATCH = "MERGE_PATCH"


class SortOrder(StrEnum):
    ASC = "ASC"
    DESC = "DESC"
