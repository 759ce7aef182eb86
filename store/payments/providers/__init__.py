"""Payment providers behind store.payments.gateway.PaymentProvider."""
