"""Plans paid in Telegram Stars: the plan catalogue, signed invoice payloads, the ledger of
charges and the entitlement it folds into, limits and their enforcement."""
