"""Make the site's search work when the site is opened from disk (file://), with no server.

The search plugin's script loads its index with a request and searches in a Web Worker; a browser
allows neither for a page opened from disk, so the search box did nothing (and the page logged a
script error). After the build this hook writes the index a second time as a script,
``search/search_index.js``, and adds to ``search/main.js`` a branch for file:// pages that loads
``lunr.js`` and that script with ``<script>`` tags and searches on the page itself. Served over
HTTP, the plugin's own code runs unchanged.
"""

from __future__ import annotations

import json
from pathlib import Path

WORKER = """} else {
  // Wrap search in a web worker"""

OFFLINE = """} else if (window.location.protocol === 'file:') {
  // opened from disk: no worker and no request, so load the index as a script and search here
  var offlineSearch = null;
  var searchWorker = {postMessage: function (msg) {
    if (msg.query && offlineSearch) { displayResults(offlineSearch(msg.query)); }
  }};
  var loadScript = function (path, done) {
    var script = document.createElement('script');
    script.src = joinUrl(base_url, path);
    script.onload = done;
    document.head.appendChild(script);
  };
  loadScript('search/lunr.js', function () {
    loadScript('search/search_index.js', function () {
      var data = window.mkdocs_search_data, documents = {};
      if (data.config && data.config.separator && data.config.separator.length) {
        lunr.tokenizer.separator = new RegExp(data.config.separator);
      }
      var index = lunr(function () {
        this.field('title');
        this.field('text');
        this.ref('location');
        for (var i = 0; i < data.docs.length; i++) {
          this.add(data.docs[i]);
          documents[data.docs[i].location] = data.docs[i];
        }
      });
      offlineSearch = function (query) {
        return index.search(query).map(function (result) {
          var doc = documents[result.ref];
          doc.summary = doc.text.substring(0, 200);
          return doc;
        });
      };
      min_search_length = data.config.min_search_length - 1;
      initSearch();
    });
  });
""" + WORKER


def on_post_build(config):
    search = Path(config["site_dir"]) / "search"
    if not (search / "search_index.json").is_file():
        return
    data = json.loads((search / "search_index.json").read_text(encoding="utf-8"))
    (search / "search_index.js").write_text("window.mkdocs_search_data = " + json.dumps(data) + ";\n", encoding="utf-8")
    main = (search / "main.js").read_text(encoding="utf-8")
    if WORKER not in main:
        raise RuntimeError("search/main.js has changed: the offline search branch has no place to go; update docs/hooks/offline_search.py")
    (search / "main.js").write_text(main.replace(WORKER, OFFLINE, 1), encoding="utf-8")
