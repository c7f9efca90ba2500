-- The user's tables of examples/payment. hadr creates hadr_inbox itself on first start.
CREATE TABLE IF NOT EXISTS accounts (id text PRIMARY KEY, balance_cents bigint NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS payments (
  message_id text PRIMARY KEY,
  account text NOT NULL REFERENCES accounts (id),
  amount_cents bigint NOT NULL CHECK (amount_cents <> 0));
INSERT INTO accounts (id) VALUES ('acct-1'), ('acct-2') ON CONFLICT DO NOTHING;
