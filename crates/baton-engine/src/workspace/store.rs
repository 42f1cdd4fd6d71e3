//! `store/*.json`: the demo store's customers, orders and products.
//!
//! The layout is that of a small retail backend: `users.json` maps a user id
//! to a customer (name, address, e-mail, payment methods, order ids),
//! `orders.json` maps an order id to an order (user, address, items,
//! fulfilments, status, payments) and `products.json` maps a product id to a
//! product with its variants. The engine itself only needs the product
//! names (to spot products in messages); the demo store backend serves the
//! rest. The checks here catch what would make that backend lie: an order
//! of an unknown user, an unknown status, an order a user does not list.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use super::source::{Problem, Source};

/// Order statuses the store knows.
pub const ORDER_STATUSES: &[&str] = &["pending", "processed", "delivered", "cancelled"];

#[derive(Debug, Deserialize)]
struct User {
    email: String,
    #[serde(default)]
    orders: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct Order {
    order_id: String,
    user_id: String,
    status: String,
}

#[derive(Debug, Deserialize)]
struct Product {
    name: String,
}

/// Reads the store folder, if there is one, pushing problems and the files
/// read, and returns the catalogue's product names, sorted, without repeats.
pub(crate) fn parse(
    dir: &Path,
    sources: &mut Vec<Source>,
    problems: &mut Vec<Problem>,
) -> Vec<String> {
    if !dir.is_dir() {
        return Vec::new();
    }

    let users_src = read(&dir.join("users.json"), problems);
    let orders_src = read(&dir.join("orders.json"), problems);
    let products_src = read(&dir.join("products.json"), problems);
    let users = users_src.as_ref().and_then(|s| records::<User>(s, problems));
    let orders = orders_src.as_ref().and_then(|s| records::<Order>(s, problems));
    let products = products_src.as_ref().and_then(|s| records::<Product>(s, problems));

    if let (Some(users), Some(orders), Some(users_src), Some(orders_src)) =
        (&users, &orders, &users_src, &orders_src)
    {
        check_orders(orders_src, orders, users, problems);
        check_users(users_src, users, orders, problems);
    }

    let mut names: Vec<String> =
        products.map(|p| p.into_values().map(|p| p.name).collect()).unwrap_or_default();
    names.sort();
    names.dedup();
    sources.extend([users_src, orders_src, products_src].into_iter().flatten());
    names
}

/// Each order has a known status and belongs to a known user who lists it.
fn check_orders(
    source: &Source,
    orders: &BTreeMap<String, Order>,
    users: &BTreeMap<String, User>,
    problems: &mut Vec<Problem>,
) {
    for (key, order) in orders {
        let here = |msg: String| source.at_text(&format!("\"{key}\""), msg);
        if key != &order.order_id {
            problems.push(here(format!(
                "order `{key}` has order_id `{}`; the two must match",
                order.order_id
            )));
        }
        if !ORDER_STATUSES.contains(&order.status.as_str()) {
            problems.push(here(format!(
                "order `{key}` has status `{}`; expected one of {}",
                order.status,
                ORDER_STATUSES.join(", ")
            )));
        }
        match users.get(&order.user_id) {
            None => problems
                .push(here(format!("order `{key}` belongs to unknown user `{}`", order.user_id))),
            Some(user) if !user.orders.contains(key) => problems.push(here(format!(
                "order `{key}` is missing from the order list of user `{}`",
                order.user_id
            ))),
            Some(_) => {}
        }
    }
}

/// Each user has an e-mail address and lists only orders that exist.
fn check_users(
    source: &Source,
    users: &BTreeMap<String, User>,
    orders: &BTreeMap<String, Order>,
    problems: &mut Vec<Problem>,
) {
    for (id, user) in users {
        let here = |msg: String| source.at_text(&format!("\"{id}\""), msg);
        for order in &user.orders {
            if !orders.contains_key(order) {
                problems.push(here(format!("user `{id}` lists unknown order `{order}`")));
            }
        }
        if !user.email.contains('@') {
            problems.push(here(format!("user `{id}` has no valid e-mail address")));
        }
    }
}

/// A store file, if it exists: a store may have only a catalogue.
fn read(path: &Path, problems: &mut Vec<Problem>) -> Option<Source> {
    if !path.exists() {
        return None;
    }
    Source::read(path).map_err(|p| problems.push(p)).ok()
}

/// A store file as a map of id to record.
fn records<T: for<'de> Deserialize<'de>>(
    source: &Source,
    problems: &mut Vec<Problem>,
) -> Option<BTreeMap<String, T>> {
    match serde_json::from_str(&source.text) {
        Ok(map) => Some(map),
        Err(e) => {
            problems.push(Problem {
                file: source.path.clone(),
                line: Some(e.line()),
                message: format!("invalid store data: {e}"),
            });
            None
        }
    }
}
