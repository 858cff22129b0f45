//! The few WebDriver (W3C) commands the browser test sends to chromedriver, as JSON over the
//! workspace's reqwest. A client crate was weighed: thirtyfour turns on serde_json's
//! `preserve_order` for the whole workspace (every JSON object's key order changes, and
//! everything over serde_json rebuilds), fantoccini brings the `webdriver` crate with a second
//! `http`, two `cookie`s, `thiserror` 1 and the ICU 1 data crates; these few commands are less.

use base64::Engine as _;
use serde_json::{Value, json};

use super::Res;

/// The key W3C WebDriver names an element by.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A browser session.
pub(crate) struct Session {
    http: reqwest::Client,
    base: String,
}

/// An element of the current page.
pub(crate) struct Element<'s> {
    session: &'s Session,
    id: String,
}

impl Session {
    /// A new headless Chrome(ium) session at the chromedriver at `driver`, with `args`.
    pub(crate) async fn chrome(driver: &str, args: &[&str]) -> Res<Self> {
        let http = reqwest::Client::new();
        let mut options = json!({ "args": args });
        if let Some(binary) = std::env::var_os("CHROMIUM") {
            options["binary"] = json!(binary.to_string_lossy());
        }
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome", "goog:chromeOptions": options,
        }}});
        let answer = send(http.post(format!("{driver}/session")).json(&caps)).await?;
        let id = answer["sessionId"].as_str().ok_or("no session id")?;
        Ok(Self {
            base: format!("{driver}/session/{id}"),
            http,
        })
    }

    async fn get(&self, path: &str) -> Res<Value> {
        send(self.http.get(format!("{}{path}", self.base))).await
    }

    async fn post(&self, path: &str, body: Value) -> Res<Value> {
        send(self.http.post(format!("{}{path}", self.base)).json(&body)).await
    }

    pub(crate) async fn goto(&self, url: &str) -> Res<()> {
        self.post("/url", json!({ "url": url })).await.map(drop)
    }

    pub(crate) async fn url(&self) -> Res<String> {
        Ok(self
            .get("/url")
            .await?
            .as_str()
            .unwrap_or_default()
            .to_owned())
    }

    pub(crate) async fn source(&self) -> Res<String> {
        Ok(self
            .get("/source")
            .await?
            .as_str()
            .unwrap_or_default()
            .to_owned())
    }

    /// The first element `css` selects.
    pub(crate) async fn find(&self, css: &str) -> Res<Element<'_>> {
        let found = self
            .post("/element", json!({"using": "css selector", "value": css}))
            .await?;
        let id = found[ELEMENT].as_str().ok_or("no element id")?.to_owned();
        Ok(Element { session: self, id })
    }

    /// Runs `script` (a function body; `arguments` are `args`) in the page; what it returns.
    pub(crate) async fn execute(&self, script: &str, args: Value) -> Res<Value> {
        self.post("/execute/sync", json!({ "script": script, "args": args }))
            .await
    }

    /// Resizes the window to `width` × `height` CSS pixels.
    pub(crate) async fn set_window(&self, width: u32, height: u32) -> Res<()> {
        self.post("/window/rect", json!({ "width": width, "height": height }))
            .await
            .map(drop)
    }

    /// Presses Tab once, as a keyboard user moving to the next control.
    pub(crate) async fn tab(&self) -> Res<()> {
        let tab = "\u{E004}";
        self.post(
            "/actions",
            json!({"actions": [{"type": "key", "id": "keyboard", "actions": [
                {"type": "keyDown", "value": tab}, {"type": "keyUp", "value": tab},
            ]}]}),
        )
        .await
        .map(drop)
    }

    /// The viewport as PNG.
    pub(crate) async fn screenshot(&self) -> Res<Vec<u8>> {
        let b64 = self.get("/screenshot").await?;
        Ok(base64::engine::general_purpose::STANDARD.decode(b64.as_str().unwrap_or_default())?)
    }

    pub(crate) async fn quit(&self) -> Res<()> {
        send(self.http.delete(&self.base)).await.map(drop)
    }
}

impl Element<'_> {
    fn path(&self, what: &str) -> String {
        format!("/element/{}/{what}", self.id)
    }

    pub(crate) async fn click(&self) -> Res<()> {
        self.session
            .post(&self.path("click"), json!({}))
            .await
            .map(drop)
    }

    pub(crate) async fn clear(&self) -> Res<()> {
        self.session
            .post(&self.path("clear"), json!({}))
            .await
            .map(drop)
    }

    pub(crate) async fn send_keys(&self, text: &str) -> Res<()> {
        self.session
            .post(&self.path("value"), json!({ "text": text }))
            .await
            .map(drop)
    }

    pub(crate) async fn text(&self) -> Res<String> {
        Ok(self
            .session
            .get(&self.path("text"))
            .await?
            .as_str()
            .unwrap_or_default()
            .to_owned())
    }
}

/// Sends a command: its `value`, or its error.
async fn send(request: reqwest::RequestBuilder) -> Res<Value> {
    let response = request.send().await?;
    let status = response.status();
    let mut body: Value = response.json().await?;
    let value = body["value"].take();
    if !status.is_success() {
        return Err(format!(
            "WebDriver {status}: {} {}",
            value["error"].as_str().unwrap_or_default(),
            value["message"].as_str().unwrap_or_default()
        )
        .into());
    }
    Ok(value)
}
