from sqlalchemy import create_engine, text


def test_registry_url_accepts_connections(registry_url):
    engine = create_engine(registry_url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT 1")).scalar() == 1
    engine.dispose()
