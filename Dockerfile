FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

COPY requirements.txt requirements-dev.txt ./
RUN pip install -r requirements-dev.txt

COPY . .
RUN useradd --create-home --uid 10001 cafepos \
    && mkdir -p /app/uploads/menu_items /app/uploads/thumbnails \
    && chown -R cafepos:cafepos /app/uploads
USER cafepos

EXPOSE 8880
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8880/health', timeout=2).status == 200 else 1)"

CMD ["python", "main.py"]
