-- orders.lua -- an order's life:
--
--   placed --> accepted --> courier_assigned --> delivered
--      \
--       `--> rejected
--
-- * The customer's app creates the order with the items and quantities; the
--   price is the server's: before_create reads each item from menu_items
--   (inside the write's transaction), keeps a copy of its name and price on
--   the order, and computes the total. Whatever total the app sent is
--   overwritten.
-- * Who may move an order is said by the orders' updateRule: the restaurant's
--   owner accepts or rejects it, its courier marks it delivered, and no app
--   may touch the items, the total, the customer, the restaurant or the
--   courier. Which moves exist is said here, in before_update, for every
--   write -- the rules bind the apps, the hook binds superusers too.
-- * The courier is no one's choice: once the restaurant accepts, an after
--   hook gives the order the nearest free courier (dispatch.lua).

-- Delivery costs the same anywhere in town; prices are in cents.
local DELIVERY_FEE = 299
local MAX_QTY = 20

local NEXT = {
  placed           = { accepted = true, rejected = true },
  accepted         = { courier_assigned = true },
  courier_assigned = { delivered = true },
  rejected         = {},
  delivered        = {},
}

local function bad_items(message, code)
  tarmac.refuse(400, message, { items = { code = code, message = message } })
end

tarmac.on("before_create", "orders", function(e)
  local r = e.record

  -- records.get reads in the write's transaction: what it sees is what the
  -- order is priced with, even if the menu changes a moment later.
  local restaurant = r.restaurant ~= "" and tarmac.records.get("restaurants", r.restaurant)
  if not restaurant then
    tarmac.refuse(400, "Choose a restaurant.", {
      restaurant = { code = "validation_required", message = "Cannot be blank." } })
  end
  if not restaurant.open then
    tarmac.refuse(400, restaurant.name .. " is closed.", {
      restaurant = { code = "closed", message = "The restaurant is closed." } })
  end

  if type(r.items) ~= "table" or #r.items == 0 then
    bad_items("An order has at least one item.", "validation_required")
  end
  if #r.items > 50 then
    bad_items("At most 50 lines.", "too_many")
  end

  local lines, subtotal = {}, 0
  for i, line in ipairs(r.items) do
    local qty = type(line) == "table" and line.qty
    if type(qty) ~= "number" or qty ~= math.floor(qty) or qty < 1 or qty > MAX_QTY then
      bad_items(("Line %d: a quantity from 1 to %d."):format(i, MAX_QTY), "invalid_quantity")
    end
    local item = type(line.item) == "string" and line.item ~= "" and
        tarmac.records.get("menu_items", line.item)
    if not item or item.restaurant ~= restaurant.id then
      bad_items(("Line %d is not on %s's menu."):format(i, restaurant.name), "unknown_item")
    end
    if not item.available then
      bad_items(("%s is sold out."):format(item.name), "sold_out")
    end
    lines[#lines + 1] = { item = item.id, name = item.name, price = item.price, qty = math.tointeger(qty) }
    subtotal = subtotal + item.price * qty
  end

  r.items = lines
  r.total = math.tointeger(subtotal + DELIVERY_FEE)
  r.status = "placed"
  r.courier = ""
end)

tarmac.on("before_update", "orders", function(e)
  local r, was = e.record, e.original
  if r.status ~= was.status and not NEXT[was.status][r.status] then
    tarmac.refuse(400, ("An order cannot go from %s to %s."):format(was.status, r.status), {
      status = { code = "invalid_transition",
                 message = ("Not allowed after %s."):format(was.status) } })
  end
  if r.total ~= was.total then
    tarmac.refuse(400, "The total is set when the order is placed.", {
      total = { code = "immutable", message = "Cannot be changed." } })
  end
  if was.courier ~= "" and r.courier ~= was.courier then
    -- Two dispatches of the same order raced: the first one's courier stays.
    tarmac.refuse(409, "The order already has a courier.")
  end
  if r.status == "courier_assigned" and r.courier == "" then
    tarmac.refuse(400, "Assigned to whom?", {
      courier = { code = "validation_required", message = "Cannot be blank." } })
  end
end)

tarmac.on("after_update", "orders", function(e)
  local order = e.record
  if order.status == "accepted" and order.courier == "" then
    dispatch.assign(order.id)
  elseif order.status == "delivered" then
    dispatch.release(order.courier, order.id)
  end
end)
