//! Matcher throughput on realistic buffers (MB/s): text with rare keys,
//! text dense with keywords, and binary data. Run with `cargo bench`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rolecall::matcher::Matcher;
use rolecall::rules::RuleSet;
use rolecall::scan::ChunkScanner;

const SIZE: usize = 32 * 1024 * 1024;

/// A small deterministic generator, so that every run sees the same bytes.
struct XorShift(u64);
impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
}

/// Config files, logs and source code, with one credential pair per ~4 MB.
fn text_corpus(keyword_dense: bool) -> Vec<u8> {
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    let plain = [
        "2026-11-23T01:02:03Z INFO request handled in 12ms path=/api/v1/items status=200\n",
        "    let config = Config::from_env().context(\"loading configuration\")?;\n",
        "server.port = 8080\nserver.host = 0.0.0.0\n",
        "# This file is managed by configuration management; do not edit by hand.\n",
        "ExecStart=/usr/bin/app --config /etc/app/app.conf\n",
        "import boto3\nclient = boto3.client(\"s3\", region_name=\"us-east-1\")\n",
        "data: aGVsbG8gd29ybGQgdGhpcyBpcyBiYXNlNjQgZW5jb2RlZCBkYXRhIGZvciB0ZXN0aW5n\n",
        "<dependency><groupId>com.amazonaws</groupId><artifactId>aws-java-sdk-s3</artifactId></dependency>\n",
    ];
    let dense = [
        "secret = lookup(\"vault:kv/app\")  # the secret comes from Vault\n",
        "Asia/Tokyo Asia/Seoul Asia/Kolkata\n",
        "session_token_ttl = 3600\n",
        "aws_access_key_id = ${AWS_ACCESS_KEY_ID}\n",
    ];
    let mut out = Vec::with_capacity(SIZE + 4096);
    while out.len() < SIZE {
        out.extend_from_slice(rng.pick(&plain).as_bytes());
        if keyword_dense && rng.next().is_multiple_of(4) {
            out.extend_from_slice(rng.pick(&dense).as_bytes());
        }
        if rng.next().is_multiple_of(50_000) {
            out.extend_from_slice(b"aws_access_key_id = AKIA2OGYBAH6STMMNXNN\naws_secret_access_key = 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\n");
        }
    }
    out
}

fn binary_corpus() -> Vec<u8> {
    let mut rng = XorShift(0x2545_f491_4f6c_dd1d);
    (0..SIZE).map(|_| (rng.next() >> 32) as u8).collect()
}

fn bench(c: &mut Criterion) {
    let rules = RuleSet::embedded().unwrap();
    let matcher = Matcher::new(&rules).unwrap();
    let corpora =
        [("text", text_corpus(false)), ("text-keyword-dense", text_corpus(true)), ("binary", binary_corpus())];
    let mut group = c.benchmark_group("matcher");
    group.sample_size(10);
    for (name, data) in &corpora {
        group.throughput(Throughput::Bytes(data.len() as u64));
        group.bench_function(format!("find/{name}"), |b| {
            let mut scratch = matcher.scratch();
            let mut out = Vec::new();
            b.iter(|| {
                out.clear();
                matcher.find(data, &mut scratch, &mut out);
                out.len()
            })
        });
        group.bench_function(format!("chunked-scan/{name}"), |b| {
            let mut scanner = ChunkScanner::new(&matcher, rolecall::scan::DEFAULT_CHUNK_SIZE);
            let mut out = Vec::new();
            b.iter(|| {
                out.clear();
                scanner.scan(&data[..], b'\n', &mut out);
                out.len()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
