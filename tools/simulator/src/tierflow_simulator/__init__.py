"""A realistic synthetic brokerage: customers, their behaviour, and the events it produces."""
