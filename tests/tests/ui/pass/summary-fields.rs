//! Summaries as fields and as the series of a family, with every summary key.

use promexport::{Family, Format, LabelSet, Metrics, Summary};

#[derive(Clone, PartialEq, Eq, Hash, LabelSet)]
struct Route {
    route: &'static str,
}

#[derive(Metrics)]
#[metrics(prefix = "shop")]
struct ShopMetrics {
    /// Time to render a page.
    #[metric(
        unit = "seconds",
        quantiles(0.5 = 0.05, 0.9 = 0.01, 0.99 = 0.001),
        max_age = "10m",
        age_buckets = 5,
        buf_cap = 100
    )]
    render: Summary,
    /// Time to answer, by route.
    #[metric(unit = "seconds", quantiles(0.5 = 0.05), max_age = "1h30m")]
    answer: Family<Route, Summary>,
    /// Bytes per response: count and sum only.
    #[metric(unit = "bytes")]
    response_size: Summary,
}

fn main() {
    let metrics = ShopMetrics::global();
    metrics.render.observe(0.25);
    metrics.answer.get(&Route { route: "/cart" }).observe(1.5);
    metrics.response_size.observe(512.0);

    let text = promexport::render(Format::Text);
    let expected = [
        "# TYPE shop_render_seconds summary\n",
        "shop_render_seconds{quantile=\"0.5\"} 0.25\n",
        "shop_render_seconds{quantile=\"0.99\"} 0.25\n",
        "shop_render_seconds_sum 0.25\n",
        "shop_render_seconds_count 1\n",
        "shop_answer_seconds{route=\"/cart\",quantile=\"0.5\"} 1.5\n",
        "shop_answer_seconds_count{route=\"/cart\"} 1\n",
        "# TYPE shop_response_size_bytes summary\n",
        "shop_response_size_bytes_sum 512.0\n",
    ];
    for line in expected {
        assert!(text.contains(line), "missing {line:?} in:\n{text}");
    }
    assert!(!text.contains("shop_response_size_bytes{"), "{text}");
    promexport::check().expect("no name collides");
}
