"""An account holder's own data: exporting it and deleting the account (个人信息保护法)."""
