//! The landing page at `/`, as exporter-toolkit's `web.NewLandingPage` lays it out: name,
//! description, version, a link to the metrics and, with a probe endpoint, its form.

use crate::serve::Answer;
use crate::serve::handler::html_escape;
use http_body_util::Full;
use hyper::Response;
use hyper::body::Bytes;
use hyper::header::{self, HeaderValue};

/// What the page shows.
pub(crate) struct LandingPage {
    pub(crate) name: String,
    pub(crate) description: String,
    pub(crate) version: String,
    pub(crate) metrics_path: String,
    /// The probe path and its modules, when the exporter has a probe endpoint.
    pub(crate) probe: Option<(String, Vec<String>)>,
}

impl LandingPage {
    pub(crate) fn html(&self) -> String {
        let name = html_escape(&self.name);
        let mut page = format!(
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head><meta charset=\"UTF-8\"><title>{name}</title>\n\
             <style>body {{ font-family: -apple-system, sans-serif; margin: 0; }} header {{ background: #e6522c; color: #fff; padding: 10px; }} \
             div {{ padding: 10px; }} label {{ display: inline-block; width: 6em; }}</style></head>\n\
             <body>\n<header><h1>{name}</h1></header>\n<div>\n"
        );
        if !self.description.is_empty() {
            page.push_str(&format!("<p>{}</p>\n", html_escape(&self.description)));
        }
        page.push_str(&format!(
            "<p>Version: {}</p>\n<ul>\n<li><a href=\"{path}\">Metrics</a></li>\n</ul>\n",
            html_escape(&self.version),
            path = html_escape(self.metrics_path.trim_start_matches('/'))
        ));
        if let Some((probe_path, modules)) = &self.probe {
            let module = modules.first().map(String::as_str).unwrap_or_default();
            page.push_str(&format!(
                "<h2>Probe</h2>\n<form action=\"{}\">\n\
                 <p><label for=\"target\">Target:</label> <input type=\"text\" id=\"target\" name=\"target\" placeholder=\"example.com:443\"></p>\n\
                 <p><label for=\"module\">Module:</label> <input type=\"text\" id=\"module\" name=\"module\" value=\"{}\"></p>\n\
                 <p><label for=\"debug\">Debug:</label> <input type=\"checkbox\" id=\"debug\" name=\"debug\" value=\"true\"></p>\n\
                 <input type=\"submit\" value=\"Submit\">\n</form>\n",
                html_escape(probe_path.trim_start_matches('/')),
                html_escape(module)
            ));
            if !modules.is_empty() {
                let listed: Vec<String> = modules.iter().map(|m| html_escape(m)).collect();
                page.push_str(&format!("<p>Modules: {}</p>\n", listed.join(", ")));
            }
        }
        page.push_str("</div>\n</body>\n</html>\n");
        page
    }

    pub(crate) fn answer(&self) -> Answer {
        let mut response = Response::new(Full::new(Bytes::from(self.html())));
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=UTF-8"),
        );
        response
    }
}
