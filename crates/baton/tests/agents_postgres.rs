//! `baton agent add|list` in a PostgreSQL deployment: the agent goes into
//! the database the nodes share, not into the data folder's SQLite.

mod common;

use std::process::{Command, Output};

use serde_json::Value;
use sqlx::Connection;

use common::{login, Client, Server};

/// A database of its own on the test server, dropped when the test ends.
struct Database {
    admin: String,
    name: String,
    url: String,
}

impl Database {
    /// A fresh database, or `None` (after saying why) when the test server
    /// is not configured or does not answer.
    async fn fresh() -> Option<Database> {
        let Ok(admin) = std::env::var("BATON_TEST_POSTGRES_URL") else {
            eprintln!("skipped: BATON_TEST_POSTGRES_URL is not set (scripts/test sets it)");
            return None;
        };
        let Ok(mut connection) = sqlx::PgConnection::connect(&admin).await else {
            eprintln!("skipped: the PostgreSQL in BATON_TEST_POSTGRES_URL does not answer");
            return None;
        };
        let name = format!("baton_agents_{}", std::process::id());
        sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&mut connection)
            .await
            .unwrap();
        sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut connection).await.unwrap();
        connection.close().await.unwrap();
        let (base, _) = admin.rsplit_once('/').expect("the URL names a database");
        let url = format!("{base}/{name}");
        Some(Database { admin, name, url })
    }

    async fn drop_it(self) {
        let mut connection = sqlx::PgConnection::connect(&self.admin).await.unwrap();
        sqlx::query(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name))
            .execute(&mut connection)
            .await
            .unwrap();
        connection.close().await.unwrap();
    }
}

fn baton() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_baton"));
    command.env("RUST_LOG", "warn").env_remove("BATON_DATA").env_remove("BATON_DATABASE_URL");
    command
}

fn succeeded(output: &Output) -> String {
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn emails(list: &str) -> Vec<String> {
    let agents: Value = serde_json::from_str(list).unwrap();
    agents.as_array().unwrap().iter().map(|a| a["email"].as_str().unwrap().to_string()).collect()
}

#[tokio::test]
async fn agents_added_with_a_database_url_log_in_on_a_node_of_that_database() {
    let Some(database) = Database::fresh().await else { return };
    let data = tempfile::tempdir().unwrap();

    // One agent through the flag, one through the environment variable.
    let flag = baton()
        .args(["agent", "add", "--email", "pat@example.com", "--name", "Pat Reyes"])
        .args(["--password-env", "PW", "--database-url", &database.url, "--data"])
        .arg(data.path())
        .env("PW", "long enough secret")
        .output()
        .unwrap();
    let added = succeeded(&flag);
    assert!(added.starts_with("added Pat Reyes <pat@example.com> as agent ("), "{added}");
    let env = baton()
        .args(["agent", "add", "--email", "lou@example.com", "--name", "Lou Marsh"])
        .args(["--password-env", "PW", "--data"])
        .arg(data.path())
        .env("PW", "another long secret")
        .env("BATON_DATABASE_URL", &database.url)
        .output()
        .unwrap();
    succeeded(&env);

    // Nothing went into the data folder: no SQLite database was created.
    assert!(!data.path().join("baton.db").exists());
    let local = baton().args(["agent", "list", "--json", "--data"]).arg(data.path()).output();
    assert_eq!(emails(&succeeded(&local.unwrap())), Vec::<String>::new());

    // The database lists both, whichever way it is named.
    let listed = baton()
        .args(["agent", "list", "--json", "--database-url", &database.url])
        .output()
        .unwrap();
    assert_eq!(emails(&succeeded(&listed)), ["pat@example.com", "lou@example.com"]);
    let listed = baton()
        .args(["agent", "list", "--json"])
        .env("BATON_DATABASE_URL", &database.url)
        .output()
        .unwrap();
    assert_eq!(emails(&succeeded(&listed)), ["pat@example.com", "lou@example.com"]);

    // A node on that database, with a data folder of its own, lets them in.
    let node_data = tempfile::tempdir().unwrap();
    let node = Server::start_with(node_data.path(), &["--database-url", &database.url]);
    let client = Client::new();
    let token = login(&client, &node, "pat@example.com", "long enough secret").await;
    let (status, me) = client.get(&node.url("/api/v1/agents/me"), Some(&token)).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["name"], "Pat Reyes");
    login(&client, &node, "lou@example.com", "another long secret").await;

    drop(node);
    database.drop_it().await;
}
