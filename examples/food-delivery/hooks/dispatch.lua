-- dispatch.lua -- who delivers what.
--
-- An accepted order gets the free courier nearest to its restaurant, within
-- RADIUS_KM. With none free it waits; each time a courier becomes free (a
-- delivery done, a shift started) the waiting orders are offered again,
-- oldest first. All of it runs in after hooks, after the commit, as a
-- superuser.
--
-- Two dispatches may want the same courier at once (two restaurants accept
-- in the same millisecond, on two workers). Taking a courier is a write
-- whose before_update hook sees the courier as stored in that write's
-- transaction, and refuses when someone else took them first; the loser
-- catches the refusal (pcall) and tries the next courier.
--
-- A courier's current order is a text field holding the order's id rather
-- than a relation: orders already point at couriers, and a collections
-- import cannot create two collections that point at each other.

-- Global: orders.lua calls it from its after hook (every file of the hooks
-- folder shares one set of globals per thread).
dispatch = {}

local RADIUS_KM = 15

-- Great-circle distance in km between two geoPoints ({lon, lat}).
local function km(a, b)
  local rad = math.pi / 180
  local dlat, dlon = (b.lat - a.lat) * rad, (b.lon - a.lon) * rad
  local h = math.sin(dlat / 2) ^ 2 +
      math.cos(a.lat * rad) * math.cos(b.lat * rad) * math.sin(dlon / 2) ^ 2
  return 2 * 6371 * math.asin(math.sqrt(h))
end

-- The free couriers within RADIUS_KM of `at`, nearest first.
local function free_couriers_near(at)
  local page = tarmac.records.list("couriers", {
    filter = "available = true && current_order = '' && " ..
             "geoDistance(location.lon, location.lat, {:lon}, {:lat}) <= {:km}",
    params = { lon = at.lon, lat = at.lat, km = RADIUS_KM },
    perPage = 100,
  })
  local list = page.items
  table.sort(list, function(a, b) return km(a.location, at) < km(b.location, at) end)
  return list
end

-- Gives the order the nearest free courier. False when none is free (the
-- order waits for one).
function dispatch.assign(order_id)
  local order = tarmac.records.get("orders", order_id)
  if not order or order.status ~= "accepted" or order.courier ~= "" then
    return true -- nothing to do: someone else dispatched it, or it moved on
  end
  local restaurant = tarmac.records.get("restaurants", order.restaurant)
  for _, courier in ipairs(free_couriers_near(restaurant.location)) do
    local took = pcall(tarmac.records.update, "couriers", courier.id,
                       { current_order = order.id, available = false })
    if took then
      local ok, err = pcall(tarmac.records.update, "orders", order.id,
                            { courier = courier.id, status = "courier_assigned" })
      if not ok then
        -- The order was dispatched meanwhile: give the courier back (which
        -- offers them to the waiting orders).
        tarmac.log.info("order", order.id, "dispatched twice:", tostring(err))
        tarmac.records.update("couriers", courier.id, { current_order = "", available = true })
      end
      return true
    end
  end
  tarmac.log.info("no free courier near", restaurant.name, "for order", order.id, "- it waits")
  return false
end

-- The courier of a delivered order is free again.
function dispatch.release(courier_id, order_id)
  local courier = courier_id ~= "" and tarmac.records.get("couriers", courier_id)
  if courier and courier.current_order == order_id then
    tarmac.records.update("couriers", courier.id, { current_order = "", available = true })
  end
end

-- Offers the free couriers to the orders waiting for one, oldest first.
function dispatch.waiting()
  local page = tarmac.records.list("orders", {
    filter = "status = 'accepted' && courier = ''", sort = "created", perPage = 20 })
  for _, order in ipairs(page.items) do
    dispatch.assign(order.id)
  end
end

tarmac.on("before_update", "couriers", function(e)
  local r, was = e.record, e.original
  local taking = r.current_order ~= "" and r.current_order ~= was.current_order
  if taking and was.current_order ~= "" then
    tarmac.refuse(409, "The courier is on another delivery.")
  end
  if taking and not was.available then
    tarmac.refuse(409, "The courier is off duty.")
  end
  if r.available and r.current_order ~= "" then
    tarmac.refuse(400, "Finish the delivery first.", {
      available = { code = "on_delivery", message = "Not while delivering an order." } })
  end
end)

tarmac.on("after_update", "couriers", function(e)
  local c = e.record
  if c.available and c.current_order == "" then
    dispatch.waiting()
  end
end)
