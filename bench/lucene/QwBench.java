// Lucene peer of qw's bench (bench/run): indexes the same NDJSON with the
// same fields and answers the same questions.
//
//   java -cp CP QwBench noop                          JVM start only
//   java -cp CP QwBench index DIR FILE                index FILE into DIR
//   java -cp CP QwBench query DIR RUNS QUERYFILE      run every query RUNS times
//
// Fields, as in bench/otrf-index.yaml: Message (text: split on every char
// that is not a letter or digit, lowercased, positions), @timestamp (epoch
// ms: points + doc values), Hostname (keyword + sorted doc values), and the
// whole line stored. QUERYFILE lines are "name<TAB>kind<TAB>arg..."; for each
// query one line "name<TAB>median_ms<TAB>first_ms<TAB>signature" is printed,
// where signature is what bench/run compares across tools.
import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import org.apache.lucene.analysis.Analyzer;
import org.apache.lucene.analysis.LowerCaseFilter;
import org.apache.lucene.analysis.TokenStream;
import org.apache.lucene.analysis.Tokenizer;
import org.apache.lucene.analysis.util.CharTokenizer;
import org.apache.lucene.document.Document;
import org.apache.lucene.document.Field;
import org.apache.lucene.document.LongPoint;
import org.apache.lucene.document.NumericDocValuesField;
import org.apache.lucene.document.SortedDocValuesField;
import org.apache.lucene.document.StoredField;
import org.apache.lucene.document.StringField;
import org.apache.lucene.document.TextField;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.index.IndexWriter;
import org.apache.lucene.index.IndexWriterConfig;
import org.apache.lucene.index.LeafReaderContext;
import org.apache.lucene.index.NumericDocValues;
import org.apache.lucene.index.SortedDocValues;
import org.apache.lucene.index.Term;
import org.apache.lucene.index.Terms;
import org.apache.lucene.index.TermsEnum;
import org.apache.lucene.search.BooleanClause;
import org.apache.lucene.search.BooleanQuery;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.MatchNoDocsQuery;
import org.apache.lucene.search.MultiPhraseQuery;
import org.apache.lucene.search.PhraseQuery;
import org.apache.lucene.search.Query;
import org.apache.lucene.search.RegexpQuery;
import org.apache.lucene.search.ScoreDoc;
import org.apache.lucene.search.Sort;
import org.apache.lucene.search.SortField;
import org.apache.lucene.search.TermQuery;
import org.apache.lucene.search.TopDocs;
import org.apache.lucene.store.FSDirectory;
import org.apache.lucene.util.BytesRef;

public final class QwBench {
	static final class QwAnalyzer extends Analyzer {
		@Override
		protected TokenStreamComponents createComponents(String field) {
			Tokenizer t = CharTokenizer.fromTokenCharPredicate(Character::isLetterOrDigit);
			TokenStream s = new LowerCaseFilter(t);
			return new TokenStreamComponents(t, s);
		}
	}

	public static void main(String[] a) throws Exception {
		switch (a.length > 0 ? a[0] : "") {
		case "noop":
			return;
		case "index":
			index(a[1], a[2]);
			return;
		case "query":
			query(a[1], Integer.parseInt(a[2]), a[3]);
			return;
		default:
			System.err.println("usage: QwBench noop | index DIR FILE | query DIR RUNS QUERYFILE");
			System.exit(64);
		}
	}

	// ---- a small JSON reader: top-level string values of one object line
	static Map<String, String> topStrings(String s) {
		Map<String, String> m = new HashMap<>();
		int[] p = {0};
		skipWs(s, p);
		if (p[0] >= s.length() || s.charAt(p[0]) != '{') return m;
		p[0]++;
		while (true) {
			skipWs(s, p);
			if (p[0] >= s.length() || s.charAt(p[0]) == '}') return m;
			if (s.charAt(p[0]) == ',') { p[0]++; continue; }
			String key = readString(s, p);
			skipWs(s, p);
			if (p[0] < s.length() && s.charAt(p[0]) == ':') p[0]++;
			skipWs(s, p);
			if (p[0] >= s.length()) return m;
			if (s.charAt(p[0]) == '"') m.put(key, readString(s, p));
			else skipValue(s, p);
		}
	}

	static void skipWs(String s, int[] p) {
		while (p[0] < s.length() && Character.isWhitespace(s.charAt(p[0]))) p[0]++;
	}

	static String readString(String s, int[] p) {
		StringBuilder b = new StringBuilder();
		p[0]++; // opening quote
		while (p[0] < s.length()) {
			char c = s.charAt(p[0]++);
			if (c == '"') break;
			if (c != '\\' || p[0] >= s.length()) { b.append(c); continue; }
			char e = s.charAt(p[0]++);
			switch (e) {
			case 'n': b.append('\n'); break;
			case 't': b.append('\t'); break;
			case 'r': b.append('\r'); break;
			case 'b': b.append('\b'); break;
			case 'f': b.append('\f'); break;
			case 'u':
				if (p[0] + 4 <= s.length()) {
					b.append((char) Integer.parseInt(s.substring(p[0], p[0] + 4), 16));
					p[0] += 4;
				}
				break;
			default: b.append(e);
			}
		}
		return b.toString();
	}

	static void skipValue(String s, int[] p) {
		int depth = 0;
		while (p[0] < s.length()) {
			char c = s.charAt(p[0]);
			if (c == '"') { readString(s, p); if (depth == 0) return; continue; }
			if (c == '{' || c == '[') depth++;
			else if (c == '}' || c == ']') { if (depth == 0) return; depth--; if (depth == 0) { p[0]++; return; } }
			else if (c == ',' && depth == 0) return;
			p[0]++;
		}
	}

	// ---- indexing
	static void index(String dir, String file) throws IOException {
		IndexWriterConfig cfg = new IndexWriterConfig(new QwAnalyzer());
		cfg.setOpenMode(IndexWriterConfig.OpenMode.CREATE);
		cfg.setRAMBufferSizeMB(256);
		long n = 0;
		try (IndexWriter w = new IndexWriter(FSDirectory.open(Paths.get(dir)), cfg);
		     BufferedReader r = Files.newBufferedReader(Paths.get(file), StandardCharsets.UTF_8)) {
			String line;
			while ((line = r.readLine()) != null) {
				Map<String, String> f = topStrings(line);
				String ts = f.get("@timestamp");
				if (ts == null) continue;
				long ms = Instant.parse(ts).toEpochMilli();
				Document d = new Document();
				d.add(new LongPoint("ts", ms));
				d.add(new NumericDocValuesField("ts", ms));
				String msg = f.get("Message");
				if (msg != null) d.add(new TextField("message", msg, Field.Store.NO));
				String host = f.get("Hostname");
				if (host != null) {
					d.add(new StringField("hostname", host, Field.Store.NO));
					d.add(new SortedDocValuesField("hostname", new BytesRef(host)));
				}
				d.add(new StoredField("doc", line));
				w.addDocument(d);
				n++;
			}
			w.forceMerge(1);
		}
		System.out.println(n);
	}

	// ---- queries
	static Query textQuery(String arg) {
		String[] w = arg.split(" ");
		if (w.length == 1) return new TermQuery(new Term("message", w[0]));
		BooleanQuery.Builder b = new BooleanQuery.Builder();
		for (String t : w) b.add(new TermQuery(new Term("message", t)), BooleanClause.Occur.MUST);
		return b.build();
	}

	// the phrase with its last word expanded to the first 50 terms with that
	// prefix (one segment after forceMerge), as Quickwit's max_expansions
	static Query phrasePrefix(IndexSearcher s, String[] w) throws IOException {
		String last = w[w.length - 1];
		List<Term> exp = new ArrayList<>();
		for (LeafReaderContext lc : s.getIndexReader().leaves()) {
			Terms terms = lc.reader().terms("message");
			if (terms == null) continue;
			TermsEnum te = terms.iterator();
			if (te.seekCeil(new BytesRef(last)) == TermsEnum.SeekStatus.END) continue;
			do {
				String t = te.term().utf8ToString();
				if (!t.startsWith(last) || exp.size() == 50) break;
				exp.add(new Term("message", t));
			} while (te.next() != null);
		}
		if (exp.isEmpty()) return new MatchNoDocsQuery();
		MultiPhraseQuery.Builder b = new MultiPhraseQuery.Builder();
		for (int i = 0; i + 1 < w.length; i++) b.add(new Term("message", w[i]));
		b.add(exp.toArray(new Term[0]));
		return b.build();
	}

	static String run(IndexSearcher s, String kind, String[] q) throws IOException {
		switch (kind) {
		case "term":
		case "and":
			return Long.toString(s.count(textQuery(q[2])));
		case "phrase":
			return Long.toString(s.count(new PhraseQuery("message", q[2].split(" "))));
		case "pprefix":
			return Long.toString(s.count(phrasePrefix(s, q[2].split(" "))));
		case "regex":
			// Lucene's RegexpQuery, like tantivy's, matches whole terms
			return Long.toString(s.count(new RegexpQuery(new Term("message", q[2]))));
		case "range":
			return Long.toString(s.count(LongPoint.newRangeQuery("ts",
				Long.parseLong(q[2]), Long.parseLong(q[3]) - 1)));
		case "top": {
			TopDocs td = s.search(textQuery(q[2]), 10,
				new Sort(new SortField("ts", SortField.Type.LONG, true)));
			StringBuilder b = new StringBuilder();
			for (ScoreDoc sd : td.scoreDocs) {
				Document d = s.doc(sd.doc); // fetch the documents, as a search engine returns them
				if (d.get("doc") == null) return "no stored doc";
				b.append(((org.apache.lucene.search.FieldDoc) sd).fields[0]).append(' ');
			}
			return b.toString().trim();
		}
		case "terms": {
			Map<String, Long> c = new HashMap<>();
			for (LeafReaderContext lc : s.getIndexReader().leaves()) {
				SortedDocValues dv = lc.reader().getSortedDocValues("hostname");
				if (dv == null) continue;
				long[] per = new long[dv.getValueCount()];
				while (dv.nextDoc() != SortedDocValues.NO_MORE_DOCS) per[dv.ordValue()]++;
				for (int o = 0; o < per.length; o++)
					c.merge(dv.lookupOrd(o).utf8ToString(), per[o], Long::sum);
			}
			List<Map.Entry<String, Long>> l = new ArrayList<>(c.entrySet());
			l.sort((x, y) -> y.getValue().equals(x.getValue()) ? x.getKey().compareTo(y.getKey())
				: Long.compare(y.getValue(), x.getValue()));
			StringBuilder b = new StringBuilder();
			for (int i = 0; i < Math.min(10, l.size()); i++)
				b.append(l.get(i).getKey()).append(':').append(l.get(i).getValue()).append(' ');
			return b.toString().trim();
		}
		case "histo": {
			long iv = Long.parseLong(q[2]);
			TreeMap<Long, Long> c = new TreeMap<>();
			for (LeafReaderContext lc : s.getIndexReader().leaves()) {
				NumericDocValues dv = lc.reader().getNumericDocValues("ts");
				if (dv == null) continue;
				while (dv.nextDoc() != NumericDocValues.NO_MORE_DOCS)
					c.merge(Math.floorDiv(dv.longValue(), iv), 1L, Long::sum);
			}
			long tot = 0;
			for (long v : c.values()) tot += v;
			return c.size() + " buckets " + tot + " docs";
		}
		default:
			return "unknown kind " + kind;
		}
	}

	static void query(String dir, int runs, String qfile) throws IOException {
		try (DirectoryReader r = DirectoryReader.open(FSDirectory.open(Paths.get(dir)))) {
			IndexSearcher s = new IndexSearcher(r);
			s.setQueryCache(null); // every run does the work, as a fresh process would
			for (String line : Files.readAllLines(Paths.get(qfile))) {
				if (line.isEmpty()) continue;
				String[] q = line.split("\t");
				long t0 = System.nanoTime();
				String sig = run(s, q[1], q);
				double first = (System.nanoTime() - t0) / 1e6;
				for (int i = 0; i < 3; i++) run(s, q[1], q); // warm up the JIT
				double[] t = new double[runs];
				for (int i = 0; i < runs; i++) {
					long a = System.nanoTime();
					run(s, q[1], q);
					t[i] = (System.nanoTime() - a) / 1e6;
				}
				Arrays.sort(t);
				System.out.printf("%s\t%.3f\t%.3f\t%s%n", q[0], t[runs / 2], first, sig);
			}
		}
	}
}
