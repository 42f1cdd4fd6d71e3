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

/// Reads the store folder, if there is one, pushing problems, and returns
/// the catalogue's product names, sorted and without repeats.
pub(crate) fn parse(
    dir: &Path,
    sources: &mut Vec<Source>,
    problems: &mut Vec<Problem>,
) -> Vec<String> {
    if !dir.is_dir() {
        return Vec::new();
    }

    let users = read::<User>(&dir.join("users.json"), sources, problems);
    let orders = read::<Order>(&dir.join("orders.json"), sources, problems);
    let products = read::<Product>(&dir.join("products.json"), sources, problems);

    if let (Some((users, users_src)), Some((orders, orders_src))) = (&users, &orders) {
        for (key, order) in orders {
            let here = |msg: String| orders_src.at_text(&format!("\"{key}\""), msg);
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
                None => problems.push(here(format!(
                    "order `{key}` belongs to unknown user `{}`",
                    order.user_id
                ))),
                Some(user) if !user.orders.contains(key) => problems.push(here(format!(
                    "order `{key}` is missing from the order list of user `{}`",
                    order.user_id
                ))),
                Some(_) => {}
            }
        }
        for (id, user) in users {
            for order in &user.orders {
                if !orders.contains_key(order) {
                    let msg = format!("user `{id}` lists unknown order `{order}`");
                    problems.push(users_src.at_text(&format!("\"{id}\""), msg));
                }
            }
            if !user.email.contains('@') {
                let msg = format!("user `{id}` has no valid e-mail address");
                problems.push(users_src.at_text(&format!("\"{id}\""), msg));
            }
        }
    }

    let mut names: Vec<String> = products
        .map(|(p, _)| p.into_values().map(|p| p.name).collect())
        .unwrap_or_default();
    names.sort();
    names.dedup();
    names
}

/// One JSON file as a map of id to record, with its source kept for the
/// fingerprint and for problem lines. A missing file is no problem: a store
/// may have only a catalogue.
fn read<T: for<'de> Deserialize<'de>>(
    path: &Path,
    sources: &mut Vec<Source>,
    problems: &mut Vec<Problem>,
) -> Option<(BTreeMap<String, T>, Source)> {
    if !path.exists() {
        return None;
    }
    let source = match Source::read(path) {
        Ok(source) => source,
        Err(problem) => {
            problems.push(problem);
            return None;
        }
    };
    let parsed = serde_json::from_str::<BTreeMap<String, T>>(&source.text);
    let result = match parsed {
        Ok(map) => Some((
            map,
            Source {
                path: source.path.clone(),
                text: source.text.clone(),
            },
        )),
        Err(e) => {
            problems.push(Problem {
                file: path.to_path_buf(),
                line: Some(e.line()),
                message: format!("invalid store data: {e}"),
            });
            None
        }
    };
    sources.push(source);
    result
}
