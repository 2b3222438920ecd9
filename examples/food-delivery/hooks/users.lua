-- users.lua -- every account has a role: customer, restaurant or courier.
--
-- Anyone may sign up, as a customer only (the users' createRule refuses a
-- sign-up that names another role; the updateRule, any change of one's own
-- role). Restaurants and couriers are onboarded by a superuser, who also
-- makes their `restaurants` and `couriers` records.

tarmac.on("before_create", "users", function(e)
  if (e.record.role or "") == "" then
    e.record.role = "customer"
  end
end)
