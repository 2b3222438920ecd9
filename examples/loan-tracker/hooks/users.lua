-- users.lua -- every account has a role.
--
-- borrower        asks for loans, sees only their own, marks them repaid
-- officer         approves or rejects loans up to a limit, disburses them
-- credit_manager  approves or rejects loans of any amount
-- auditor         reads everything, changes nothing
--
-- Anyone may sign up, as a borrower only: the users' createRule refuses a
-- sign-up that names another role, and the updateRule refuses any change of
-- one's own role. Staff accounts are made by a superuser (the dashboard, or
-- the superuser's SDK client as client.mjs does), whom rules do not bind.

tarmac.on("before_create", "users", function(e)
  -- A sign-up that names no role is a borrower's.
  if (e.record.role or "") == "" then
    e.record.role = "borrower"
  end
end)
