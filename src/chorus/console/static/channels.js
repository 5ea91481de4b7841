// What the console knows about channels: names, and the credential each needs.

export const CHANNELS = ['SMS', 'WHATSAPP', 'RCS', 'MESSENGER', 'VIBERBM', 'VIBER'];

export const LABELS = {
  SMS: 'SMS', WHATSAPP: 'WhatsApp', RCS: 'RCS', MESSENGER: 'Messenger',
  VIBERBM: 'Viber Business', VIBER: 'Viber Bot',
};

// static_bearer: an id the channel knows the business by + a token; static_token: a token.
export const CREDENTIAL = {
  SMS: ['static_bearer', 'Service plan ID'],
  WHATSAPP: ['static_bearer', 'Phone number ID'],
  RCS: ['static_bearer', 'Agent ID'],
  MESSENGER: ['static_token', null],
  VIBERBM: ['static_bearer', 'Service ID'],
  VIBER: ['static_token', null],
};

export const TRIGGERS = [
  'MESSAGE_DELIVERY', 'MESSAGE_SUBMIT', 'MESSAGE_INBOUND', 'EVENT_DELIVERY', 'EVENT_INBOUND',
  'CONVERSATION_START', 'CONVERSATION_STOP', 'CONVERSATION_DELETE', 'CONTACT_CREATE',
  'CONTACT_DELETE', 'CONTACT_MERGE', 'CONTACT_UPDATE', 'CONTACT_IDENTITIES_DUPLICATION',
  'UNSUPPORTED', 'OPT_IN', 'OPT_OUT', 'CHANNEL_EVENT', 'CAPABILITY', 'RECORD_NOTIFICATION',
];
