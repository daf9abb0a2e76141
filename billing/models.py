"""Invoices, payments, the patient's ledger, discounts and tax certificates (the billing issue).

The price list they bill from lives below the calendar, in ``pricelist``.
"""
