eventType=ObjectEvent
GE_eventTime=2025-01-01T00:00:00Z
LT_eventTime=2025-12-31T00:00:00Z
