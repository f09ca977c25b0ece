"""The Model Explorer export and the graph view's server, against real compiles: the
graph's nodes are report.operators' nodes, grouped by nn.Module, and every overlay's
values are the report's."""

import json
import urllib.request
from urllib.parse import parse_qs, urlparse

import labkit
from labkit.app import graph as graph_view


def test_export_matches_the_report(compiled, tmp_path):
    report = compiled("ds_cnn", "ethos-u55-128")
    table = labkit.numerics("ds_cnn", "ethos-u55-128", data=[report.compiled_from.model.example()])
    folder = labkit.to_model_explorer(report, tmp_path / "me", numerics=table)
    (g,) = json.loads((folder / "graph.json").read_text())["graphs"]
    ops = report.operators
    nodes = {n["id"]: n for n in g["nodes"]}
    assert set(ops["node"]) <= set(nodes) and g["id"] == "ds_cnn"
    for n in g["nodes"]:  # every edge starts at a node of the graph
        assert all(e["sourceNodeId"] in nodes for e in n["incomingEdges"]), n["id"]
    conv = ops[(ops["op"] == "aten.convolution") & (ops["module"] != "")].iloc[0]
    assert nodes[conv["node"]]["namespace"] == conv["module"].replace(".", "/")

    def overlay(stem):
        data = json.loads((folder / f"{stem}.json").read_text())
        assert list(data) == ["ds_cnn"]
        return data["ds_cnn"]

    cycles = overlay("npu_cycles")
    assert "vela-estimate" in cycles["name"] and "gradient" in cycles
    assert sum(r["value"] for r in cycles["results"].values()) == ops["cycles"].sum() > 0
    placement = overlay("placement")["results"]
    pool = ops[ops["op"] == "aten.avg_pool2d"].iloc[0]
    assert placement[pool["node"]]["value"] == pool["kernel"] and "CMSIS-NN" in pool["kernel"]
    assert placement[conv["node"]]["value"] == f"NPU partition {int(conv['partition'])}"
    low, high = overlay("cpu_cycles_low"), overlay("cpu_cycles_high")
    assert "cortex-m-estimate" in low["name"] and low["results"][pool["node"]]["value"] == pool["cpu_cycles_low"]
    assert high["results"][pool["node"]]["value"] == pool["cpu_cycles_high"]
    sqnr = overlay("sqnr_fake_quant")
    assert "fake-quant-int8 vs pytorch-float" in sqnr["name"]
    row = table[table["sqnr_fake_quant_db"].notna()].iloc[0]
    assert sqnr["results"][row["node"]]["value"] == row["sqnr_fake_quant_db"]


def test_the_view_is_served_on_localhost_with_the_same_values(compiled):
    report = compiled("ds_cnn", "ethos-u55-128")
    url = graph_view.url(report)
    parts = urlparse(url)
    assert parts.hostname == "127.0.0.1"
    again = urlparse(graph_view.url(report))
    assert again.port == parts.port  # one server per kernel, started once
    data = json.loads(parse_qs(parts.query)["data"][0])
    index = int(data["models"][0]["url"].rsplit("/", 1)[1])
    base = f"http://127.0.0.1:{parts.port}"
    served = json.load(urllib.request.urlopen(f"{base}/api/v1/load_graphs_json?graph_index={index}"))
    assert {n["id"] for n in served["graphs"][0]["nodes"]} >= set(report.operators["node"])
    stems = [s.split("//")[1].split("/")[0] for s in data["nodeData"]]
    cycles_index = int(data["nodeData"][stems.index("npu_cycles")].rsplit("/", 1)[1])
    content = json.load(urllib.request.urlopen(f"{base}/api/v1/load_node_data?node_data_index={cycles_index}"))
    values = json.loads(content["content"])["ds_cnn"]["results"]
    assert sum(v["value"] for v in values.values()) == report.operators["cycles"].sum()
    html = labkit.explore(report)._repr_html_()
    assert "<iframe" in html and f"127.0.0.1:{parts.port}" in html
