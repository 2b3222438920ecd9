-- loans.lua -- a loan's life:
--
--   requested --> approved --> disbursed --> repaid
--        \
--         `----> rejected
--
-- Two questions, answered in two places:
--
-- * Which moves exist at all is the before_update hook's business. It runs
--   inside the write's transaction for every write of a loan, whoever makes
--   it (the route below, a batch, a superuser in the dashboard), and sees
--   the stored record (e.original) as of that transaction: two officers who
--   approve the same loan at once cannot both succeed.
--
-- * Who may make a move is the route's business: POST
--   /api/app/loans/{id}/transition. Hooks do not see the requester; the
--   route does (req.auth), and the permission depends on the role, the
--   target status, the amount and whose loan it is -- a table in Lua reads
--   better than a filter expression of that size. The loans' updateRule is
--   null (superusers only), so the route is the apps' only way to change a
--   loan: it writes with {superuser = true} once it has checked the role.
--
-- Every change leaves an audit record, written by after hooks (after the
-- commit, as a superuser): who, from which status, to which, when.

-- Officers decide loans up to this amount; above it, a credit manager.
local OFFICER_LIMIT = 10000

-- The moves a loan can make, from each status.
local NEXT = {
  requested = { approved = true, rejected = true },
  approved  = { disbursed = true },
  disbursed = { repaid = true },
  rejected  = {},
  repaid    = {},
}

-- nil when a user with this role and id may move loan to status `to`,
-- else why not.
local function why_not(to, role, uid, loan)
  if to == "approved" or to == "rejected" then
    if role == "credit_manager" then return nil end
    if role == "officer" then
      if loan.amount <= OFFICER_LIMIT then return nil end
      return ("Loans above %d are decided by a credit manager."):format(OFFICER_LIMIT)
    end
    return "Only officers and credit managers decide on loans."
  elseif to == "disbursed" then
    if role == "officer" then return nil end
    return "Only officers disburse loans."
  elseif to == "repaid" then
    if role == "officer" or (role == "borrower" and loan.borrower == uid) then return nil end
    return "Only the borrower or an officer marks a loan repaid."
  end
  return "No one moves a loan there."
end

-- ---------------------------------------------------------------------------
-- The route: who may do what
-- ---------------------------------------------------------------------------

tarmac.route("POST", "/api/app/loans/{id}/transition", function(req)
  local auth = req.auth
  if not auth then
    tarmac.refuse(401, "Sign in to change a loan.")
  end
  local body = req.body or {}
  local to, note = body.status, body.note
  if type(to) ~= "string" or not NEXT[to] or to == "requested" then
    tarmac.refuse(400, "Unknown status.", {
      status = { code = "validation_invalid_value",
                 message = "One of approved, rejected, disbursed, repaid." } })
  end
  if note ~= nil and type(note) ~= "string" then
    tarmac.refuse(400, "The note is text.", {
      note = { code = "validation_invalid_value", message = "Must be text." } })
  end

  -- Read as the requester: the loans' viewRule applies, so a borrower gets
  -- nil for someone else's loan -- a 404, as the REST API answers.
  local loan = tarmac.records.get("loans", req.params.id)
  if not loan then
    tarmac.refuse(404, "The requested resource wasn't found.")
  end

  local actor = nil -- a superuser's move names no user
  if not auth.superuser then
    local why = why_not(to, auth.record.role, auth.id, loan)
    if why then tarmac.refuse(403, why) end
    actor = auth.id
  end
  if to == "rejected" and (note or "") == "" then
    tarmac.refuse(400, "Say why the loan is rejected.", {
      note = { code = "validation_required", message = "Cannot be blank when rejecting." } })
  end

  -- The write goes through the before_update hook below, which may still
  -- refuse it (a move that does not exist, or one someone made first); its
  -- refusal, uncaught, is this route's answer. `actor` is how the hooks
  -- learn who asked.
  local updated = tarmac.records.update("loans", loan.id,
    { status = to, note = note or "", actor = actor or "" }, { superuser = true })
  return 200, updated
end)

-- ---------------------------------------------------------------------------
-- The hooks: which moves exist
-- ---------------------------------------------------------------------------

tarmac.on("before_create", "loans", function(e)
  local r = e.record
  -- Whatever the app sent, a loan starts as requested. The createRule has
  -- checked that a borrower asks for themselves.
  r.status = "requested"
  r.previous_status = ""
  r.note = ""
  r.last_actor = r.borrower
  r.actor = ""
end)

tarmac.on("before_update", "loans", function(e)
  local r, was = e.record, e.original

  -- `actor` is input only: who asks for this change (the route fills it in).
  -- It moves to last_actor and is never stored, so a write that names no
  -- actor -- a superuser's own edit -- leaves last_actor empty rather than
  -- crediting the previous one.
  r.last_actor = r.actor
  r.actor = ""

  if r.borrower ~= was.borrower or r.amount ~= was.amount then
    tarmac.refuse(400, "A loan's borrower and amount are set when it is requested.", {
      amount = { code = "immutable", message = "Cannot be changed." } })
  end

  if r.status == was.status then
    if r.last_actor ~= "" then
      -- Someone asked for a move to where the loan already is: the other
      -- of two concurrent requests, or a double tap.
      tarmac.refuse(409, ("The loan is already %s."):format(was.status))
    end
  elseif not NEXT[was.status][r.status] then
    tarmac.refuse(400, ("A loan cannot go from %s to %s."):format(was.status, r.status), {
      status = { code = "invalid_transition",
                 message = ("Not allowed after %s."):format(was.status) } })
  end

  -- After hooks get no e.original: keep what the status was, for the audit.
  r.previous_status = was.status
end)

tarmac.on("before_delete", "loans", function(e)
  tarmac.refuse(403, "Loans are kept for the audit trail: reject them instead.")
end)

-- ---------------------------------------------------------------------------
-- The audit trail: after the commit, as a superuser
-- ---------------------------------------------------------------------------

local function audit(loan, from)
  tarmac.records.create("audits", {
    loan = loan.id,
    actor = loan.last_actor, -- "" for a superuser's edit
    from_status = from,
    to_status = loan.status,
    amount = loan.amount,
    note = loan.note,
  })
end

tarmac.on("after_create", "loans", function(e)
  audit(e.record, "")
end)

tarmac.on("after_update", "loans", function(e)
  local r = e.record
  if r.previous_status ~= r.status then -- a move, not an edit of the note
    audit(r, r.previous_status)
  end
end)
