//! The store's state and the rules of each operation, with no HTTP in it.
//!
//! Records are kept as the JSON they were loaded from (the layout of
//! `users.json`, `orders.json` and `products.json`), so that a `GET` shows
//! exactly what a file would hold after the change. Each operation checks
//! its preconditions first and changes nothing when one fails.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{json, Map, Value};

/// The reasons a pending order may be cancelled with.
pub const CANCEL_REASONS: &[&str] = &["no longer needed", "ordered by mistake"];

/// Why an operation was refused. Each variant has one HTTP status.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum StoreError {
    /// Unknown user, order, product or item.
    #[error("{0}")]
    NotFound(String),
    /// The record exists but is in the wrong state for the operation.
    #[error("{0}")]
    Conflict(String),
    /// The request itself is wrong (a reason not allowed, a missing field).
    #[error("{0}")]
    Invalid(String),
}

/// Why the data folder could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read {file}: {message}")]
    Read { file: String, message: String },
    #[error("{file} is not a JSON object of records: {message}")]
    Shape { file: String, message: String },
}

/// The whole store, in memory.
#[derive(Clone, Debug, Default)]
pub struct StoreData {
    pub users: BTreeMap<String, Value>,
    pub orders: BTreeMap<String, Value>,
    pub products: BTreeMap<String, Value>,
}

impl StoreData {
    /// Loads `users.json`, `orders.json` and `products.json` from a folder.
    pub fn load(dir: &Path) -> Result<StoreData, LoadError> {
        Ok(StoreData {
            users: load_file(&dir.join("users.json"))?,
            orders: load_file(&dir.join("orders.json"))?,
            products: load_file(&dir.join("products.json"))?,
        })
    }

    /// Writes the three files to a folder, in the layout [`StoreData::load`]
    /// reads, so that a restart can carry on from the state it had. Each
    /// file is written beside its final name and then renamed over it, so a
    /// crash mid-write leaves the previous version whole.
    pub fn save(&self, dir: &Path) -> std::io::Result<()> {
        std::fs::create_dir_all(dir)?;
        for (name, records) in [
            ("users.json", &self.users),
            ("orders.json", &self.orders),
            ("products.json", &self.products),
        ] {
            let text = serde_json::to_string_pretty(records).map_err(std::io::Error::other)?;
            let partial = dir.join(format!("{name}.partial"));
            std::fs::write(&partial, text + "\n")?;
            std::fs::rename(&partial, dir.join(name))?;
        }
        Ok(())
    }

    /// The id of the user with this e-mail address (case does not matter).
    pub fn find_by_email(&self, email: &str) -> Result<String, StoreError> {
        let wanted = email.trim().to_lowercase();
        self.users
            .iter()
            .find(|(_, u)| text(u, "email").to_lowercase() == wanted)
            .map(|(id, _)| id.clone())
            .ok_or_else(|| StoreError::NotFound(format!("no user with e-mail {}", email.trim())))
    }

    /// The id of the user with this first name, last name and zip code.
    pub fn find_by_name_zip(
        &self,
        first_name: &str,
        last_name: &str,
        zip: &str,
    ) -> Result<String, StoreError> {
        let same = |a: &str, b: &str| a.trim().eq_ignore_ascii_case(b.trim());
        self.users
            .iter()
            .find(|(_, u)| {
                same(&text(&u["name"], "first_name"), first_name)
                    && same(&text(&u["name"], "last_name"), last_name)
                    && same(&text(&u["address"], "zip"), zip)
            })
            .map(|(id, _)| id.clone())
            .ok_or_else(|| {
                StoreError::NotFound(format!(
                    "no user named {} {} with zip code {}",
                    first_name.trim(),
                    last_name.trim(),
                    zip.trim()
                ))
            })
    }

    pub fn user(&self, id: &str) -> Result<&Value, StoreError> {
        self.users.get(id).ok_or_else(|| StoreError::NotFound(format!("no user {id}")))
    }

    pub fn order(&self, id: &str) -> Result<&Value, StoreError> {
        let id = order_key(id);
        self.orders.get(&id).ok_or_else(|| StoreError::NotFound(format!("no order {id}")))
    }

    pub fn product(&self, id: &str) -> Result<&Value, StoreError> {
        self.products.get(id).ok_or_else(|| StoreError::NotFound(format!("no product {id}")))
    }

    /// Cancels a pending order; the payments are refunded to where they
    /// came from.
    pub fn cancel(&mut self, order_id: &str, reason: &str) -> Result<Value, StoreError> {
        let reason = reason.trim().to_lowercase();
        if !CANCEL_REASONS.contains(&reason.as_str()) {
            return Err(StoreError::Invalid(format!(
                "`reason` must be one of: {}; got `{reason}`",
                CANCEL_REASONS.join(", ")
            )));
        }
        let order = self.order_in(order_id, &["pending"], "cancelled")?;

        let refunds: Vec<Value> =
            payments(order).map(|(amount, method)| refund(amount, &method)).collect();
        history(order).extend(refunds);
        order["status"] = json!("cancelled");
        order["cancel_reason"] = json!(reason);
        Ok(order.clone())
    }

    /// Changes the shipping address of a pending order.
    pub fn modify_order_address(
        &mut self,
        order_id: &str,
        address: &Value,
    ) -> Result<Value, StoreError> {
        let address = parse_address(address)?;
        let order = self.order_in(order_id, &["pending"], "given a new address")?;
        order["address"] = address;
        Ok(order.clone())
    }

    /// Pays a pending order with another of the user's payment methods.
    pub fn modify_payment(&mut self, order_id: &str, method: &str) -> Result<Value, StoreError> {
        let user = self.owner(order_id)?;
        let source = self.payment_method(&user, method)?;
        let order = self.order_in(order_id, &["pending"], "paid another way")?;
        let paid: Vec<(f64, String)> = payments(order).collect();
        if paid.len() != 1 {
            return Err(StoreError::Conflict(
                "the payment of this order cannot be changed: it has more than one payment".into(),
            ));
        }
        let (amount, old) = paid[0].clone();
        if old == method {
            return Err(StoreError::Invalid(format!(
                "the order is already paid with {method}; choose another payment method"
            )));
        }
        if let Some(balance) = gift_card_balance(&source) {
            if balance < amount {
                return Err(StoreError::Conflict(format!(
                    "gift card {method} has {balance:.2}, less than the {amount:.2} to pay"
                )));
            }
        }
        let entries = vec![
            json!({"transaction_type": "payment", "amount": amount, "payment_method_id": method}),
            refund(amount, &old),
        ];
        history(order).extend(entries);
        Ok(order.clone())
    }

    /// Swaps items of a pending order for other variants of the same
    /// products; the order can then no longer be changed.
    pub fn modify_items(
        &mut self,
        order_id: &str,
        item_ids: &[String],
        new_item_ids: &[String],
        method: &str,
    ) -> Result<Value, StoreError> {
        let (diff, new_items) = self.swap(order_id, item_ids, new_item_ids, &["pending"])?;
        let user = self.owner(order_id)?;
        self.payment_method(&user, method)?;
        let order = self.order_in(order_id, &["pending"], "modified")?;
        replace_items(order, item_ids, new_items);
        settle(order, diff, method);
        order["status"] = json!("pending (item modified)");
        Ok(order.clone())
    }

    /// Asks for a return of delivered items; the refund goes to the original
    /// payment method or to one of the user's gift cards.
    pub fn request_return(
        &mut self,
        order_id: &str,
        item_ids: &[String],
        method: &str,
    ) -> Result<Value, StoreError> {
        let user = self.owner(order_id)?;
        let source = self.payment_method(&user, method)?;
        let order = self.order_in(order_id, &["delivered"], "returned")?;
        check_items_in(order, item_ids)?;
        let original: Vec<String> = payments(order).map(|(_, m)| m).collect();
        if !original.iter().any(|m| m == method) && gift_card_balance(&source).is_none() {
            return Err(StoreError::Invalid(format!(
                "a refund goes to the original payment method ({}) or a gift card, not {method}",
                original.join(", ")
            )));
        }
        order["status"] = json!("return requested");
        order["return_items"] = json!(item_ids);
        order["return_payment_method_id"] = json!(method);
        Ok(order.clone())
    }

    /// Asks for an exchange of delivered items for other variants.
    pub fn request_exchange(
        &mut self,
        order_id: &str,
        item_ids: &[String],
        new_item_ids: &[String],
        method: &str,
    ) -> Result<Value, StoreError> {
        self.swap(order_id, item_ids, new_item_ids, &["delivered"])?;
        let user = self.owner(order_id)?;
        self.payment_method(&user, method)?;
        let order = self.order_in(order_id, &["delivered"], "exchanged")?;
        order["status"] = json!("exchange requested");
        order["exchange_items"] = json!(item_ids);
        order["exchange_new_items"] = json!(new_item_ids);
        order["exchange_payment_method_id"] = json!(method);
        Ok(order.clone())
    }

    /// Refunds part or all of a delivered order to its original payment.
    pub fn refund(&mut self, order_id: &str, amount: f64) -> Result<Value, StoreError> {
        let order = self.order_in(order_id, &["delivered"], "refunded")?;
        let paid: f64 = payments(order).map(|(a, _)| a).sum();
        let refunded: f64 = refunds(order).sum();
        if amount.is_nan() || amount <= 0.0 || amount > paid - refunded + 0.005 {
            return Err(StoreError::Invalid(format!(
                "a refund must be more than 0 and at most the {:.2} not yet refunded",
                paid - refunded
            )));
        }
        let method = payments(order).map(|(_, m)| m).next().unwrap_or_default();
        history(order).push(refund(round(amount), &method));
        Ok(order.clone())
    }

    /// Changes a user's default address.
    pub fn modify_user_address(
        &mut self,
        user_id: &str,
        address: &Value,
    ) -> Result<Value, StoreError> {
        let address = parse_address(address)?;
        let user = self
            .users
            .get_mut(user_id)
            .ok_or_else(|| StoreError::NotFound(format!("no user {user_id}")))?;
        user["address"] = address;
        Ok(user.clone())
    }

    /// Records that a password-reset e-mail was sent to the user's address.
    pub fn reset_password(&mut self, user_id: &str) -> Result<Value, StoreError> {
        let user = self
            .users
            .get_mut(user_id)
            .ok_or_else(|| StoreError::NotFound(format!("no user {user_id}")))?;
        let sent = user.get("password_resets").and_then(Value::as_u64).unwrap_or(0) + 1;
        user["password_resets"] = json!(sent);
        Ok(json!({"user_id": user_id, "sent_to": text(user, "email"), "resets_sent": sent}))
    }

    /// An order in one of `allowed` statuses, for a change; the message
    /// says what can be done instead when the status is wrong.
    fn order_in(
        &mut self,
        order_id: &str,
        allowed: &[&str],
        verb: &str,
    ) -> Result<&mut Value, StoreError> {
        let key = order_key(order_id);
        let order = self
            .orders
            .get_mut(&key)
            .ok_or_else(|| StoreError::NotFound(format!("no order {key}")))?;
        let status = text(order, "status");
        if !allowed.contains(&status.as_str()) {
            let instead = match status.as_str() {
                "delivered" => "; it can be returned or exchanged instead",
                "pending" => "; it can be cancelled or modified instead",
                _ => "",
            };
            return Err(StoreError::Conflict(format!(
                "order {key} is {status}, so it cannot be {verb}{instead}"
            )));
        }
        Ok(order)
    }

    fn owner(&self, order_id: &str) -> Result<String, StoreError> {
        Ok(text(self.order(order_id)?, "user_id"))
    }

    fn payment_method(&self, user_id: &str, method: &str) -> Result<Value, StoreError> {
        self.user(user_id)?.get("payment_methods").and_then(|m| m.get(method)).cloned().ok_or_else(
            || StoreError::Invalid(format!("user {user_id} has no payment method {method}")),
        )
    }

    /// The price difference and the new items of a swap of variants, after
    /// checking that each new item is an available variant of the same
    /// product as the item it replaces.
    fn swap(
        &self,
        order_id: &str,
        item_ids: &[String],
        new_item_ids: &[String],
        allowed: &[&str],
    ) -> Result<(f64, Vec<Value>), StoreError> {
        let order = self.order(order_id)?;
        let status = text(order, "status");
        if !allowed.contains(&status.as_str()) {
            return Err(StoreError::Conflict(format!(
                "order {} is {status}; only a {} order can have its items swapped",
                order_key(order_id),
                allowed.join(" or ")
            )));
        }
        if item_ids.is_empty() || item_ids.len() != new_item_ids.len() {
            return Err(StoreError::Invalid(
                "`item_ids` and `new_item_ids` must be non-empty and of the same length".into(),
            ));
        }
        check_items_in(order, item_ids)?;
        let mut diff = 0.0;
        let mut new_items = Vec::new();
        for (old_id, new_id) in item_ids.iter().zip(new_item_ids) {
            let old = items(order).find(|i| &text(i, "item_id") == old_id).cloned();
            let old = old.unwrap_or(Value::Null);
            let product_id = text(&old, "product_id");
            let product = self.product(&product_id)?;
            let variant = product["variants"].get(new_id).ok_or_else(|| {
                StoreError::Invalid(format!(
                    "item {new_id} is not a variant of {} (product {product_id})",
                    text(product, "name")
                ))
            })?;
            if variant.get("available").and_then(Value::as_bool) != Some(true) {
                return Err(StoreError::Conflict(format!("item {new_id} is not available")));
            }
            if new_id == old_id {
                return Err(StoreError::Invalid(format!("item {new_id} is the same item")));
            }
            let price = variant["price"].as_f64().unwrap_or(0.0);
            diff += price - old["price"].as_f64().unwrap_or(0.0);
            new_items.push(json!({
                "name": text(product, "name"),
                "product_id": product_id,
                "item_id": new_id,
                "price": price,
                "options": variant["options"].clone(),
            }));
        }
        Ok((round(diff), new_items))
    }
}

/// Order ids carry a leading `#`; callers may leave it out (it is awkward in
/// a URL).
pub fn order_key(id: &str) -> String {
    let id = id.trim();
    if id.starts_with('#') {
        id.to_string()
    } else {
        format!("#{id}")
    }
}

fn load_file(path: &Path) -> Result<BTreeMap<String, Value>, LoadError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| LoadError::Read { file: file.clone(), message: e.to_string() })?;
    serde_json::from_str(&text).map_err(|e| LoadError::Shape { file, message: e.to_string() })
}

fn text(value: &Value, key: &str) -> String {
    value.get(key).and_then(Value::as_str).unwrap_or_default().to_string()
}

fn items(order: &Value) -> impl Iterator<Item = &Value> {
    order.get("items").and_then(Value::as_array).into_iter().flatten()
}

fn history(order: &mut Value) -> &mut Vec<Value> {
    if !order["payment_history"].is_array() {
        order["payment_history"] = json!([]);
    }
    order["payment_history"].as_array_mut().expect("just made an array")
}

/// `(amount, method)` of each payment of an order.
fn payments(order: &Value) -> impl Iterator<Item = (f64, String)> + '_ {
    order
        .get("payment_history")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|p| text(p, "transaction_type") == "payment")
        .map(|p| (p["amount"].as_f64().unwrap_or(0.0), text(p, "payment_method_id")))
}

fn refunds(order: &Value) -> impl Iterator<Item = f64> + '_ {
    order
        .get("payment_history")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|p| text(p, "transaction_type") == "refund")
        .map(|p| p["amount"].as_f64().unwrap_or(0.0))
}

fn refund(amount: f64, method: &str) -> Value {
    json!({"transaction_type": "refund", "amount": amount, "payment_method_id": method})
}

fn gift_card_balance(method: &Value) -> Option<f64> {
    (text(method, "source") == "gift_card").then(|| method["balance"].as_f64().unwrap_or(0.0))
}

fn check_items_in(order: &Value, item_ids: &[String]) -> Result<(), StoreError> {
    if item_ids.is_empty() {
        return Err(StoreError::Invalid("`item_ids` must name at least one item".into()));
    }
    for id in item_ids {
        if !items(order).any(|i| &text(i, "item_id") == id) {
            return Err(StoreError::Invalid(format!(
                "item {id} is not in order {}",
                text(order, "order_id")
            )));
        }
    }
    Ok(())
}

fn replace_items(order: &mut Value, old: &[String], new: Vec<Value>) {
    if let Some(list) = order["items"].as_array_mut() {
        for (old_id, new_item) in old.iter().zip(new) {
            if let Some(slot) = list.iter_mut().find(|i| &text(i, "item_id") == old_id) {
                *slot = new_item;
            }
        }
    }
}

/// Records the price difference of a swap: a payment when the new items
/// cost more, a refund when they cost less.
fn settle(order: &mut Value, diff: f64, method: &str) {
    if diff > 0.0 {
        let payment =
            json!({"transaction_type": "payment", "amount": diff, "payment_method_id": method});
        history(order).push(payment);
    } else if diff < 0.0 {
        history(order).push(refund(-diff, method));
    }
}

/// An address with the five fields every record has; `address2` may be
/// empty or absent.
fn parse_address(value: &Value) -> Result<Value, StoreError> {
    let mut out = Map::new();
    for key in ["address1", "address2", "city", "state", "country", "zip"] {
        let field = value.get(key).and_then(Value::as_str).map(str::trim).unwrap_or("");
        if field.is_empty() && key != "address2" {
            return Err(StoreError::Invalid(format!("the address needs a non-empty `{key}`")));
        }
        out.insert(key.into(), json!(field));
    }
    Ok(Value::Object(out))
}

fn round(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> StoreData {
        let mut data = StoreData::default();
        data.users.insert(
            "ada_1".into(),
            json!({
                "name": {"first_name": "Ada", "last_name": "Quill"},
                "address": {"address1": "1 Elm Row", "address2": "", "city": "Troy",
                            "state": "NY", "country": "USA", "zip": "12180"},
                "email": "ada.quill@example.com",
                "payment_methods": {
                    "credit_card_1": {"source": "credit_card", "id": "credit_card_1"},
                    "gift_card_2": {"source": "gift_card", "balance": 10, "id": "gift_card_2"}
                },
                "orders": ["#W0000001", "#W0000002"]
            }),
        );
        for (id, status) in [("#W0000001", "pending"), ("#W0000002", "delivered")] {
            data.orders.insert(
                id.into(),
                json!({
                    "order_id": id, "user_id": "ada_1", "status": status,
                    "address": {}, "fulfillments": [],
                    "items": [{"name": "Mug", "product_id": "p1", "item_id": "i1",
                               "price": 12.5, "options": {"color": "red"}}],
                    "payment_history": [{"transaction_type": "payment", "amount": 12.5,
                                         "payment_method_id": "credit_card_1"}]
                }),
            );
        }
        data
    }

    #[test]
    fn cancelling_a_pending_order_refunds_it_and_keeps_the_reason() {
        let mut data = store();
        let order = data.cancel("W0000001", "Ordered by mistake").unwrap();
        assert_eq!(order["status"], "cancelled");
        assert_eq!(order["cancel_reason"], "ordered by mistake");
        assert_eq!(order["payment_history"][1]["transaction_type"], "refund");
        assert_eq!(order["payment_history"][1]["amount"], 12.5);
    }

    #[test]
    fn a_delivered_order_is_not_cancelled_and_the_error_says_what_to_do() {
        let mut data = store();
        let err = data.cancel("#W0000002", "no longer needed").unwrap_err();
        assert_eq!(
            err,
            StoreError::Conflict(
                "order #W0000002 is delivered, so it cannot be cancelled; it can be returned \
                 or exchanged instead"
                    .into()
            )
        );
        assert_eq!(data.orders["#W0000002"]["status"], "delivered");
    }

    #[test]
    fn a_cancel_reason_outside_the_list_is_refused() {
        let mut data = store();
        let err = data.cancel("#W0000001", "too expensive").unwrap_err();
        assert!(matches!(err, StoreError::Invalid(m) if m.contains("no longer needed")));
        assert_eq!(data.orders["#W0000001"]["status"], "pending");
    }

    #[test]
    fn users_are_found_by_email_or_by_name_and_zip() {
        let data = store();
        assert_eq!(data.find_by_email(" ADA.quill@example.com").unwrap(), "ada_1");
        assert_eq!(data.find_by_name_zip("ada", "QUILL", "12180").unwrap(), "ada_1");
        assert!(matches!(
            data.find_by_name_zip("Ada", "Quill", "99999"),
            Err(StoreError::NotFound(_))
        ));
    }

    #[test]
    fn a_return_refunds_to_the_original_method_or_a_gift_card_only() {
        let mut data = store();
        let items = vec!["i1".to_string()];
        let order = data.request_return("#W0000002", &items, "gift_card_2").unwrap();
        assert_eq!(order["status"], "return requested");
        assert_eq!(order["return_payment_method_id"], "gift_card_2");

        let mut data = store();
        let err = data.request_return("#W0000002", &["i9".to_string()], "credit_card_1");
        assert_eq!(
            err.unwrap_err(),
            StoreError::Invalid("item i9 is not in order #W0000002".into())
        );
    }

    #[test]
    fn a_refund_cannot_exceed_what_was_paid() {
        let mut data = store();
        assert!(matches!(data.refund("#W0000002", 20.0), Err(StoreError::Invalid(_))));
        let order = data.refund("#W0000002", 12.5).unwrap();
        assert_eq!(order["payment_history"][1]["amount"], 12.5);
        assert!(matches!(data.refund("#W0000002", 0.01), Err(StoreError::Invalid(_))));
    }
}
